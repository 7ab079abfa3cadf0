// The one kernel of the CUDA masked convolution (kernels/cuda/masked_conv.cpp): the mask.
//
// PixelCNN's mask keeps the first T taps of each k x k weight plane in raster order
// (kernels/masked_conv.h), so for the flat index i of w [C_out, C_in, k, k]:
//   tap = i mod k*k = kh*k + kw,    out[i] = tap < T ? in[i] : 0
// One thread per weight element, grid-stride. A weight is small (64*64*7*7 = 200k
// elements) and the op is a copy, so nothing cleverer pays: the convolution it feeds
// costs thousands of times more. A hidden tap is selected away, not multiplied by 0, so
// a NaN or infinity there cannot leak into out; in == out zeroes the hidden taps in place.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch_masked_conv.h"

namespace mg::kernels::cuda {

namespace {

template <class T>
__global__ void mask_weight_kernel(int64_t total, int64_t taps_per_plane, int64_t kept, const T* in, T* out) {
    for (int64_t i = global_thread(); i < total; i += grid_threads()) {
        const int64_t tap = i % taps_per_plane;  // kh*k + kw
        out[i] = tap < kept ? in[i] : T(0);
    }
}

}  // namespace

void launch_mask_weight(DType t, int64_t planes, int64_t k, int64_t taps, const void* in, void* out) {
    const char* what = "cuda masked_conv2d mask_weight";
    if (planes < 0 || k < 1 || taps < 0) fail(what, "negative planes or taps, or k < 1");
    const int64_t total = planes * k * k;
    if (total <= 0) return;
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        mask_weight_kernel<T><<<grid_for(total), kThreads, 0, current_stream()>>>(
            total, k * k, taps, static_cast<const T*>(in), static_cast<T*>(out));
    });
    check_launch(what);
}

}  // namespace mg::kernels::cuda
