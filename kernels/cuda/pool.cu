// 2-D pooling (kernels/pool.h) on the GPU, NCHW, mirroring kernels/cpu/pool.cpp:
//   forward:  one thread per output element, scanning its window in (kh, kw) order.
//             max: first maximum wins, NaN propagates, argmax = ih*W + iw or -1 for a
//             window of padding only. avg: double sum / (KH*KW).
//   backward: one thread per input element gathers from the windows that contain it,
//             in (oh, ow) order: the order in which the CPU scatter adds, so the result
//             matches it bit for bit, with no atomics and no zero-fill pass. max_pool
//             backward expects argmax from max_pool2d_forward of the same shape (an
//             argmax outside its window is ignored).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/pool_ops.cuh"

namespace mg::kernels::cuda {

namespace {

// ---- the kernels: a grid-stride loop over elements -------------------------------

template <class T>
__global__ void max_pool_forward_kernel(Pool2dShape s, const T* x, T* y, int64_t* argmax) {
    for (int64_t o = global_thread(); o < s.n * s.c * s.oh * s.ow; o += grid_threads())
        max_pool_forward_at(s, x, y, argmax, o);
}

template <class T>
__global__ void max_pool_backward_kernel(Pool2dShape s, const T* gy, const int64_t* argmax, T* gx) {
    for (int64_t i = global_thread(); i < s.n * s.c * s.h * s.w; i += grid_threads())
        max_pool_backward_at(s, gy, argmax, gx, i);
}

template <class T>
__global__ void avg_pool_forward_kernel(Pool2dShape s, const T* x, T* y) {
    for (int64_t o = global_thread(); o < s.n * s.c * s.oh * s.ow; o += grid_threads()) avg_pool_forward_at(s, x, y, o);
}

template <class T>
__global__ void avg_pool_backward_kernel(Pool2dShape s, const T* gy, T* gx) {
    for (int64_t i = global_thread(); i < s.n * s.c * s.h * s.w; i += grid_threads())
        avg_pool_backward_at(s, gy, gx, i);
}

// launch(T{}, grid) for the dtype, with a grid for `total` elements (the output's for a
// forward, the input's for a backward); nothing when there are none.
template <class Launch>
void launch_pool(DType t, const char* what, int64_t total, Launch&& launch) {
    if (total <= 0) return;
    dispatch_float(t, what, [&](auto tag) { launch(tag, grid_for(total)); });
    check_launch(what);
}

}  // namespace

void launch_max_pool2d_forward(DType t, const Pool2dShape& s, const void* x, void* y, int64_t* argmax) {
    launch_pool(t, "cuda max_pool2d_forward", s.n * s.c * s.oh * s.ow, [&](auto tag, unsigned grid) {
        using T = decltype(tag);
        max_pool_forward_kernel<T><<<grid, kThreads, 0, current_stream()>>>(s, static_cast<const T*>(x),
                                                                              static_cast<T*>(y), argmax);
    });
}

void launch_max_pool2d_backward(DType t, const Pool2dShape& s, const void* gy, const int64_t* argmax, void* gx) {
    launch_pool(t, "cuda max_pool2d_backward", s.n * s.c * s.h * s.w, [&](auto tag, unsigned grid) {
        using T = decltype(tag);
        max_pool_backward_kernel<T><<<grid, kThreads, 0, current_stream()>>>(s, static_cast<const T*>(gy), argmax,
                                                                               static_cast<T*>(gx));
    });
}

void launch_avg_pool2d_forward(DType t, const Pool2dShape& s, const void* x, void* y) {
    launch_pool(t, "cuda avg_pool2d_forward", s.n * s.c * s.oh * s.ow, [&](auto tag, unsigned grid) {
        using T = decltype(tag);
        avg_pool_forward_kernel<T><<<grid, kThreads, 0, current_stream()>>>(s, static_cast<const T*>(x),
                                                                              static_cast<T*>(y));
    });
}

void launch_avg_pool2d_backward(DType t, const Pool2dShape& s, const void* gy, void* gx) {
    launch_pool(t, "cuda avg_pool2d_backward", s.n * s.c * s.h * s.w, [&](auto tag, unsigned grid) {
        using T = decltype(tag);
        avg_pool_backward_kernel<T><<<grid, kThreads, 0, current_stream()>>>(s, static_cast<const T*>(gy),
                                                                               static_cast<T*>(gx));
    });
}

}  // namespace mg::kernels::cuda
