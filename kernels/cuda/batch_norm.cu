// Batch normalisation (kernels/batch_norm.h) on the GPU, mirroring kernels/cpu/batch_norm.cpp.
//
// x is dense [n, c, hw]; channel c owns the M = n*hw values x[i, c, j]. Forward, training:
//   K = x[0, c, 0] (the shift),  s1 = sum (x - K),  s2 = sum (x - K)^2     (in double)
//   mean = K + s1/M,  var = max(0, (s2 - s1^2/M) / M),  invstd = 1 / sqrt(var + eps)
//   running_mean = (1-m) running_mean + m mean,  running_var = (1-m) running_var + m var M/(M-1)
// eval: mean = running_mean, invstd = 1 / sqrt(running_var + eps). Then
//   y = (x - mean) * (weight invstd) + bias        (weight 1, bias 0 when null)
// Backward, with xhat = (x - mean) invstd:
//   grad_bias = sum g,  grad_weight = sum g (x - mean) * invstd,
//   grad_x = weight invstd (g - sum g / M - (x - mean) * sum g (x - mean) * invstd^2 / M)
// The shifted sums keep the variance exact when the mean is far from zero compared
// with the spread (E[x^2] - E[x]^2 would cancel every digit of float32 data).
//
// One block of 256 threads per channel (grid-stride over channels). Thread k folds the
// channel's values k, k+256, ... (value e is x[e / hw, c, e % hw]: for hw = 49 neighbouring
// threads read neighbouring addresses; for hw = 1, BatchNorm1d's [64, 1024], a channel is
// a column and its 64 values are 1024 apart, which at that size costs nothing worth a
// second kernel). block_sum then adds the 256 partials in a fixed order: a shuffle
// butterfly in each warp, then the 8 warp sums in warp order. The same block then makes
// its second pass (y, or grad_x) with the statistics every thread already holds. The
// order of additions depends on the shape alone: results are reproducible bit for bit,
// and no atomics are used. Every formula is the CPU reference's, in double, rounded once.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch_norm.h"

namespace mg::kernels::cuda {

namespace {

constexpr int kChannelThreads = 256;  // threads per block; one block per channel
constexpr int kChannelWarps = kChannelThreads / 32;
constexpr int64_t kMaxChannelBlocks = 65535;  // more channels are taken grid-stride

struct BlockPlus {
    __device__ double operator()(double a, double b) const { return a + b; }
};

// The sum of v over the block's threads, returned to every thread (all get the same bits).
// Every thread of the block must call it; `partial` is __shared__ [kChannelWarps].
__device__ double block_sum(double v, double* partial) {
    v = warp_reduce(v, BlockPlus{});
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    double total = partial[0];
    for (int w = 1; w < kChannelWarps; ++w) total += partial[w];
    __syncthreads();  // everyone has read `partial` before the next call overwrites it
    return total;
}

// The args' untyped pointers as the dtype's.
template <class T>
__device__ __forceinline__ const T* as(const void* p) {
    return static_cast<const T*>(p);
}
template <class T>
__device__ __forceinline__ T* as(void* p) {
    return static_cast<T*>(p);
}

// Index in x of value e (0 <= e < n*hw) of channel c: x[e / hw, c, e % hw].
__device__ __forceinline__ int64_t channel_index(const BatchNormShape& s, int64_t c, int64_t e) {
    return ((e / s.hw) * s.c + c) * s.hw + e % s.hw;
}

template <class T>
__global__ void __launch_bounds__(kChannelThreads) batch_norm_forward_kernel(BatchNormForwardArgs a) {
    __shared__ double partial[kChannelWarps];
    const BatchNormShape s = a.shape;
    const T *x = as<T>(a.x), *w = as<T>(a.weight), *b = as<T>(a.bias);
    T *running_mean = as<T>(a.running_mean), *running_var = as<T>(a.running_var), *y = as<T>(a.y);
    T *save_mean = as<T>(a.save_mean), *save_invstd = as<T>(a.save_invstd);
    const int64_t count = s.n * s.hw;
    const double m = double(count);
    for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {  // uniform over the block: block_sum is safe
        double mean, var;
        if (a.training) {
            // No values (n = 0): no shift to read; mean and var come out NaN as on the CPU.
            const double k = count > 0 ? double(x[c * s.hw]) : 0.0;
            double s1 = 0.0, s2 = 0.0;
            for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
                const double d = double(x[channel_index(s, c, e)]) - k;
                s1 += d;
                s2 += d * d;
            }
            s1 = block_sum(s1, partial);
            s2 = block_sum(s2, partial);
            mean = k + s1 / m;
            const double biased = (s2 - s1 * s1 / m) / m;
            var = 0.0 < biased ? biased : 0.0;  // std::max(0.0, biased), NaN -> 0 included
            if (threadIdx.x == 0 && running_mean != nullptr && running_var != nullptr) {
                const double unbias_denominator = m - 1.0 < 1.0 ? 1.0 : m - 1.0;
                running_mean[c] = T((1.0 - a.momentum) * double(running_mean[c]) + a.momentum * mean);
                running_var[c] =
                    T((1.0 - a.momentum) * double(running_var[c]) + a.momentum * var * m / unbias_denominator);
            }
        } else {
            mean = double(running_mean[c]);
            var = double(running_var[c]);
        }
        const double invstd = 1.0 / sqrt(var + a.eps);
        const double scale = (w != nullptr ? double(w[c]) : 1.0) * invstd, shift = b != nullptr ? double(b[c]) : 0.0;
        for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
            const int64_t i = channel_index(s, c, e);
            y[i] = T((double(x[i]) - mean) * scale + shift);
        }
        if (threadIdx.x == 0) {
            if (save_mean != nullptr) save_mean[c] = T(mean);
            if (save_invstd != nullptr) save_invstd[c] = T(invstd);
        }
    }
}

template <class T>
__global__ void __launch_bounds__(kChannelThreads) batch_norm_backward_kernel(BatchNormBackwardArgs a) {
    __shared__ double partial[kChannelWarps];
    const BatchNormShape s = a.shape;
    const T *x = as<T>(a.x), *gy = as<T>(a.grad_y), *w = as<T>(a.weight);
    const T *saved_mean = as<T>(a.save_mean), *saved_invstd = as<T>(a.save_invstd);
    T *gx = as<T>(a.grad_x), *gw = as<T>(a.grad_weight), *gb = as<T>(a.grad_bias);
    const int64_t count = s.n * s.hw;
    const double m = double(count);
    for (int64_t c = blockIdx.x; c < s.c; c += gridDim.x) {
        const double mean = double(saved_mean[c]), invstd = double(saved_invstd[c]);
        const double wc = w != nullptr ? double(w[c]) : 1.0;
        double sum_g = 0.0, sum_gd = 0.0;  // sum g, sum g (x - mean)
        for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
            const int64_t i = channel_index(s, c, e);
            const double g = double(gy[i]);
            sum_g += g;
            sum_gd += g * (double(x[i]) - mean);
        }
        sum_g = block_sum(sum_g, partial);
        sum_gd = block_sum(sum_gd, partial);
        if (threadIdx.x == 0) {
            if (gb != nullptr) gb[c] = T(sum_g);
            if (gw != nullptr) gw[c] = T(sum_gd * invstd);
        }
        if (gx == nullptr) continue;  // the same for every thread
        const double mean_g = sum_g / m, proj = sum_gd * invstd * invstd / m;
        for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
            const int64_t i = channel_index(s, c, e);
            gx[i] = T(wc * invstd * (double(gy[i]) - mean_g - (double(x[i]) - mean) * proj));
        }
    }
}

unsigned channel_blocks(int64_t channels) {
    return unsigned(channels < kMaxChannelBlocks ? channels : kMaxChannelBlocks);
}

}  // namespace

void launch_batch_norm_forward(DType t, const BatchNormForwardArgs& a) {
    const char* what = "cuda batch_norm_forward";
    if (a.shape.c <= 0) return;
    if (!a.training && (a.running_mean == nullptr || a.running_var == nullptr))
        fail(what, "evaluation mode needs running_mean and running_var");
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        batch_norm_forward_kernel<T><<<channel_blocks(a.shape.c), kChannelThreads, 0, current_stream()>>>(a);
    });
    check_launch(what);
}

void launch_batch_norm_backward(DType t, const BatchNormBackwardArgs& a) {
    const char* what = "cuda batch_norm_backward";
    if (a.shape.c <= 0) return;
    if (a.save_mean == nullptr || a.save_invstd == nullptr) fail(what, "needs save_mean and save_invstd");
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        batch_norm_backward_kernel<T><<<channel_blocks(a.shape.c), kChannelThreads, 0, current_stream()>>>(a);
    });
    check_launch(what);
}

}  // namespace mg::kernels::cuda
