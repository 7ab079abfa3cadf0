// The column kernels of the im2col convolution (conv_im2col.cpp drives them).
//
// col holds a chunk of `count` images side by side, like the CPU's:
//   col [C_in*KH*KW, count*P], row (c, i, j) = (c*KH + i)*KW + j, column n*P + oy*OW + ox
//   col[(c,i,j), (n,oy,ox)] = x[first+n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw]  (0 in padding)
// so that one GEMM per group sees K = count*P for the weight gradient, and batched GEMMs
// with ldb = count*P see each image's columns for the forward and input-gradient.
//
// im2col: one thread per col element (consecutive threads write consecutive columns).
// col2im: one thread per input pixel gathers the col entries that read it, taps in
//         (i, j) order: overwrites gx, fixed order, no atomics.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/im2col_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <class T>
__global__ void im2col_kernel(Conv2dShape s, int64_t first, int64_t count, const T* x, T* col, int64_t total) {
    for (int64_t e = global_thread(); e < total; e += grid_threads()) im2col_at(s, first, count, x, col, e);
}

template <class T>
__global__ void col2im_kernel(Conv2dShape s, int64_t first, int64_t count, const T* col, T* gx, int64_t total) {
    for (int64_t e = global_thread(); e < total; e += grid_threads()) col2im_at(s, first, count, col, gx, e);
}

}  // namespace

void launch_im2col(DType t, const Conv2dShape& s, int64_t first, int64_t count, const void* x, void* col) {
    const int64_t total = s.c_in * s.kh * s.kw * count * s.oh * s.ow;
    if (total <= 0) return;
    dispatch_float(t, "cuda im2col", [&](auto tag) {
        using T = decltype(tag);
        im2col_kernel<T><<<grid_for(total), kThreads, 0, current_stream()>>>(s, first, count, static_cast<const T*>(x),
                                                                              static_cast<T*>(col), total);
    });
    check_launch("cuda im2col");
}

void launch_col2im(DType t, const Conv2dShape& s, int64_t first, int64_t count, const void* col, void* gx) {
    const int64_t total = count * s.c_in * s.h * s.w;
    if (total <= 0) return;
    dispatch_float(t, "cuda col2im", [&](auto tag) {
        using T = decltype(tag);
        col2im_kernel<T><<<grid_for(total), kThreads, 0, current_stream()>>>(
            s, first, count, static_cast<const T*>(col), static_cast<T*>(gx), total);
    });
    check_launch("cuda col2im");
}

}  // namespace mg::kernels::cuda
