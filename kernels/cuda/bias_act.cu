// A layer's bias and the leaky_relu after it, fused (kernels/bias_act.h), on the GPU:
//   forward   out[i, c, k] = v > 0 ? v : slope * v,   v = y[i, c, k] + bias[c]
//   backward  gy[i, c, k]  = out > 0 ? g : slope * g,  gbias[c] = sum over i, k of gy[i, c, k]
// on dense [outer, channels, inner] tensors (a Linear's [B, F] has inner = 1).
//
// forward:  elementwise, one grid-stride loop over the flat index e; the channel of e is
//           (e / inner) % channels. One add and one multiply that never meet (no FMA to
//           contract), so the values are bitwise the CPU reference's.
// backward: one block per channel (a block-stride loop when channels exceed the grid). The
//           block's 256 threads stride over the channel's outer * inner elements (thread t
//           takes j = t, t + 256, ...; j = i * inner + k), write gy and add it into a double
//           accumulator; then a fixed tree: a butterfly of shuffles within each warp, and
//           thread 0 adds the 8 warp sums in warp order. The order depends on the shape
//           alone, so gbias is reproducible run to run (not bitwise the CPU's serial order;
//           both sum in double). gy is written in the pass that sums it: out and g are read
//           once, gy written once.
//           With inner = 1 neighbouring threads touch rows `channels` apart; the shapes
//           that have it (gan2d's [512, 128], the VAE's [128, 400]) are small enough to sit
//           in L2, and a block per channel gives 128 or 400 blocks, where a layout reading
//           32 channels per block would give gan2d 4. The dcgan conv's [64, 64, 14*14] gets
//           64 blocks of 49 elements per thread: half of an H100's SMs. Splitting a channel
//           into chunks would fill them, at the price of a second pass over the partials.
//           With no elements per channel (outer * inner == 0) each block writes gbias = 0.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch_bias_adam.h"

namespace mg::kernels::cuda {

namespace {

constexpr int kWarps = kThreads / 32;

template <class T>
__global__ void bias_act_forward_kernel(BiasActShape s, T slope, const T* y, const T* bias, T* out) {
    const int64_t total = s.outer * s.channels * s.inner;
    for (int64_t e = global_thread(); e < total; e += grid_threads()) {
        const int64_t c = (e / s.inner) % s.channels;
        const T v = y[e] + bias[c];
        out[e] = v > T(0) ? v : slope * v;
    }
}

// Launched with kThreads threads per block.
template <class T>
__global__ void bias_act_backward_kernel(BiasActShape s, T slope, const T* out, const T* g, T* gy, T* gbias) {
    __shared__ double warp_sums[kWarps];
    const int64_t per_channel = s.outer * s.inner;
    for (int64_t c = blockIdx.x; c < s.channels; c += gridDim.x) {
        double sum = 0.0;
        for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
            const int64_t i = j / s.inner, k = j - i * s.inner;
            const int64_t at = (i * s.channels + c) * s.inner + k;
            const T v = out[at] > T(0) ? g[at] : slope * g[at];
            gy[at] = v;
            sum += double(v);
        }
        sum = warp_reduce(sum, [](double a, double b) { return a + b; });
        if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum;
        __syncthreads();
        if (threadIdx.x == 0 && gbias != nullptr) {
            double total = warp_sums[0];
            for (int w = 1; w < kWarps; ++w) total += warp_sums[w];
            gbias[c] = T(total);
        }
        __syncthreads();  // warp_sums is reused by the next channel
    }
}

}  // namespace

void launch_bias_act_forward(DType t, const BiasActShape& s, const void* y, const void* bias, void* out) {
    const int64_t total = s.outer * s.channels * s.inner;
    if (total <= 0) return;
    dispatch_float(t, "cuda bias_act_forward", [&](auto tag) {
        using T = decltype(tag);
        bias_act_forward_kernel<T><<<grid_for(total), kThreads, 0, current_stream()>>>(
            s, T(s.slope), static_cast<const T*>(y), static_cast<const T*>(bias), static_cast<T*>(out));
    });
    check_launch("cuda bias_act_forward");
}

void launch_bias_act_backward(DType t, const BiasActShape& s, const void* out, const void* g, void* gy, void* gbias) {
    if (s.channels <= 0) return;
    if (gbias == nullptr && s.outer * s.inner <= 0) return;
    // A block per channel; the cap only bounds the grid, the kernel loops over the rest.
    const int64_t max_blocks = int64_t(1) << 20;
    const unsigned blocks = unsigned(s.channels < max_blocks ? s.channels : max_blocks);
    dispatch_float(t, "cuda bias_act_backward", [&](auto tag) {
        using T = decltype(tag);
        bias_act_backward_kernel<T><<<blocks, kThreads, 0, current_stream()>>>(
            s, T(s.slope), static_cast<const T*>(out), static_cast<const T*>(g), static_cast<T*>(gy),
            static_cast<T*>(gbias));
    });
    check_launch("cuda bias_act_backward");
}

}  // namespace mg::kernels::cuda
