// PixelCNN's masked convolution on the kept taps only (kernels/masked_conv.h).
//
// "reference": the definition as nested loops over the kept taps, double accumulation.
// "im2col": as conv2d's im2col variant (kernels/cpu/conv_im2col.cpp), but the lowering
// copies only the T kept taps, so the GEMM's reduction is C_in*T long instead of C_in*k*k:
//   col [C_in*T, P]  col[ci*T + t][oh*W + ow] = x[ci, oh + kh_t - c, ow + kw_t - c] (0 outside)
//   wp  [C_out, C_in*T]  the kept taps of w, packed (the kept taps are the first T of the
//                        k*k in raster order, so wp is w's first T columns per (co, ci))
//   forward          y_n  [C_out, P] = wp · col
//   backward_input   col  = wp^T · gy_n, then gx_n = col2im(col)
//   backward_weight  gwp [C_out, C_in*T] = sum over images of gy_n · col^T; gw = gwp
//                    scattered back to [C_out, C_in, k, k], 0 at the hidden taps
// For the 7x7 type-B conv that is 25/49 of the multiply-adds and of the lowering.
//
// Threads: one contiguous block of images per OpenMP thread, the GEMM inside single-
// threaded; with fewer images than threads, the images run serially and the GEMM uses
// the threads. backward_weight keeps one partial gwp per thread and adds them in thread
// order: a fixed order for a given thread count. P = H*W is one GEMM's N (784 for 28x28,
// enough to fill the micro-kernel tiles), so there is no chunking of several images.
#include <omp.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/gemm.h"
#include "kernels/masked_conv.h"

namespace mg::kernels::cpu {

void check_masked_conv2d_shape(const char* op, const MaskedConv2dShape& s) {
    MG_CHECK(s.n >= 0 && s.c_in >= 0 && s.h >= 0 && s.w >= 0 && s.c_out >= 0,
             "{}: negative size in input [{}, {}, {}, {}] or c_out {}", op, s.n, s.c_in, s.h, s.w, s.c_out);
    MG_CHECK(s.k >= 1 && s.k % 2 == 1, "{}: kernel size {} must be odd", op, s.k);
    MG_CHECK(s.type == 'A' || s.type == 'B', "{}: mask type must be 'A' or 'B', got '{}'", op, s.type);
}

namespace {

struct Dims {
    int64_t c, taps, kc, p, kk;  // centre k/2, kept taps T, C_in*T, H*W, k*k
};

Dims dims_of(const MaskedConv2dShape& s) {
    Dims d;
    d.c = s.k / 2;
    d.taps = masked_conv_taps(s.k, s.type);
    d.kc = s.c_in * d.taps;
    d.p = s.h * s.w;
    d.kk = s.k * s.k;
    return d;
}

// col [C_in*T, P] = the kept taps of x [C_in, H, W] around every output pixel.
template <class T>
void im2col_masked(const MaskedConv2dShape& s, const Dims& d, const T* x, T* col) {
    for (int64_t ci = 0; ci < s.c_in; ++ci)
        for (int64_t t = 0; t < d.taps; ++t) {
            int64_t kh, kw;
            masked_conv_tap(s.k, t, kh, kw);
            lower_shifted_tap(shifted_tap(s.h, s.w, s.h, kh - d.c, kw - d.c), x + ci * d.p, s.w, s.h,
                              col + (ci * d.taps + t) * d.p);
        }
}

// gx [C_in, H, W] += col2im(col): the adjoint of im2col_masked; the caller zeroes gx.
// col is scratch: the entries of padding positions are zeroed in place.
template <class T>
void col2im_masked_add(const MaskedConv2dShape& s, const Dims& d, T* col, T* gx) {
    for (int64_t ci = 0; ci < s.c_in; ++ci)
        for (int64_t t = 0; t < d.taps; ++t) {
            int64_t kh, kw;
            masked_conv_tap(s.k, t, kh, kw);
            lift_shifted_tap_add(shifted_tap(s.h, s.w, s.h, kh - d.c, kw - d.c), col + (ci * d.taps + t) * d.p, s.w,
                                 gx + ci * d.p);
        }
}

// wp [C_out, C_in*T]: the first T taps of each (co, ci) of w [C_out, C_in, k*k].
template <class T>
void pack_weight(const MaskedConv2dShape& s, const Dims& d, const T* w, T* wp) {
    for (int64_t oc = 0; oc < s.c_out * s.c_in; ++oc) std::copy(w + oc * d.kk, w + oc * d.kk + d.taps, wp + oc * d.taps);
}

// per_image(n, col, gemm, wp) for every image n, one block of images per thread: col is the
// thread's [C_in*T, P] scratch, gemm the active GEMM, wp [C_out, C_in*T] w's kept taps packed.
template <class T, class PerImage>
void for_each_image_with_columns(const MaskedConv2dShape& s, const Dims& d, const void* w, PerImage&& per_image) {
    std::vector<T> wp(size_t(s.c_out * d.kc));
    pack_weight(s, d, static_cast<const T*>(w), wp.data());
    GemmFn* gemm = gemm_table().get(Device::CPU, dtype_of<T>::value);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        T* col = thread_scratch<T>(Scratch::conv_columns, d.kc * d.p);
        for (int64_t n = first; n < end; ++n) per_image(n, col, gemm, wp.data());
    });
}

}  // namespace

// ---- reference ------------------------------------------------------------------------------
// out[n, a, i, j] = sum over b and kept taps t of w[co, ci, t] * in[n, b, i + dir*(kh_t - c), j + dir*(kw_t - c)]
// with (co, ci) = (a, b) for forward (dir = 1: in = x, out = y) and (b, a) for backward_input
// (dir = -1, the reflected taps: in = gy, out = gx); taps reading outside the plane are skipped.
template <class T>
void masked_tap_sums_reference(const MaskedConv2dShape& s, int64_t dir, const T* in, const T* w, T* out) {
    const Dims d = dims_of(s);
    const int64_t out_c = dir > 0 ? s.c_out : s.c_in, in_c = dir > 0 ? s.c_in : s.c_out;
    for (int64_t n = 0; n < s.n; ++n)
        for (int64_t a = 0; a < out_c; ++a)
            for (int64_t i = 0; i < s.h; ++i)
                for (int64_t j = 0; j < s.w; ++j) {
                    double acc = 0.0;
                    for (int64_t b = 0; b < in_c; ++b)
                        for (int64_t t = 0; t < d.taps; ++t) {
                            int64_t kh, kw;
                            masked_conv_tap(s.k, t, kh, kw);
                            const int64_t ii = i + dir * (kh - d.c), jj = j + dir * (kw - d.c);
                            if (ii < 0 || ii >= s.h || jj < 0 || jj >= s.w) continue;
                            const int64_t co = dir > 0 ? a : b, ci = dir > 0 ? b : a;
                            acc += double(w[(co * s.c_in + ci) * d.kk + t]) *
                                   double(in[((n * in_c + b) * s.h + ii) * s.w + jj]);
                        }
                    out[((n * out_c + a) * s.h + i) * s.w + j] = T(acc);
                }
}

// y[n, co, oh, ow] = sum over ci and kept taps t of w[co, ci, kh_t, kw_t] * x[n, ci, oh+kh_t-c, ow+kw_t-c]
template <class T>
void masked_conv2d_forward_reference(const MaskedConv2dShape& s, const void* x, const void* w, void* y) {
    check_masked_conv2d_shape("masked_conv2d_forward", s);
    masked_tap_sums_reference(s, 1, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y));
}

// gx[n, ci, ih, iw] = sum over co and kept taps t of w[co, ci, t] * gy[n, co, ih-kh_t+c, iw-kw_t+c]
template <class T>
void masked_conv2d_backward_input_reference(const MaskedConv2dShape& s, const void* gy, const void* w, void* gx) {
    check_masked_conv2d_shape("masked_conv2d_backward_input", s);
    masked_tap_sums_reference(s, -1, static_cast<const T*>(gy), static_cast<const T*>(w), static_cast<T*>(gx));
}

// gw[co, ci, t] = sum over n, oh, ow of gy[n, co, oh, ow] * x[n, ci, oh+kh_t-c, ow+kw_t-c]; 0 for hidden taps
template <class T>
void masked_conv2d_backward_weight_reference(const MaskedConv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    check_masked_conv2d_shape("masked_conv2d_backward_weight", s);
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    const Dims d = dims_of(s);
    for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t ci = 0; ci < s.c_in; ++ci)
            for (int64_t t = 0; t < d.kk; ++t) {
                double acc = 0.0;
                if (t < d.taps) {
                    int64_t kh, kw;
                    masked_conv_tap(s.k, t, kh, kw);
                    for (int64_t n = 0; n < s.n; ++n)
                        for (int64_t oh = 0; oh < s.h; ++oh)
                            for (int64_t ow = 0; ow < s.w; ++ow) {
                                const int64_t ih = oh + kh - d.c, iw = ow + kw - d.c;
                                if (ih < 0 || iw < 0 || iw >= s.w) continue;
                                acc += double(gy[((n * s.c_out + co) * s.h + oh) * s.w + ow]) *
                                       double(x[((n * s.c_in + ci) * s.h + ih) * s.w + iw]);
                            }
                }
                gw[(co * s.c_in + ci) * d.kk + t] = T(acc);
            }
}

// ---- im2col over the kept taps + GEMM ---------------------------------------------------------
template <class T>
void masked_conv2d_forward_im2col(const MaskedConv2dShape& s, const void* xv, const void* wv, void* yv) {
    check_masked_conv2d_shape("masked_conv2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    const Dims d = dims_of(s);
    if (done_if_empty(y, s.n * s.c_out * d.p, d.kc == 0)) return;
    for_each_image_with_columns<T>(s, d, wv, [&](int64_t n, T* col, GemmFn* gemm, const T* wp) {
        im2col_masked(s, d, x + n * s.c_in * d.p, col);
        call_gemm(gemm, false, false, s.c_out, d.p, d.kc, wp, d.kc, col, d.p, y + n * s.c_out * d.p, d.p, 0.0);
    });
}

template <class T>
void masked_conv2d_backward_input_im2col(const MaskedConv2dShape& s, const void* gyv, const void* wv, void* gxv) {
    check_masked_conv2d_shape("masked_conv2d_backward_input", s);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const Dims d = dims_of(s);
    if (done_if_empty(gx, s.n * s.c_in * d.p, d.kc == 0 || s.c_out == 0)) return;
    for_each_image_with_columns<T>(s, d, wv, [&](int64_t n, T* col, GemmFn* gemm, const T* wp) {
        call_gemm(gemm, true, false, d.kc, d.p, s.c_out, wp, d.kc, gy + n * s.c_out * d.p, d.p, col, d.p, 0.0);
        T* gxn = gx + n * s.c_in * d.p;
        std::fill(gxn, gxn + s.c_in * d.p, T(0));
        col2im_masked_add(s, d, col, gxn);
    });
}

template <class T>
void masked_conv2d_backward_weight_im2col(const MaskedConv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    check_masked_conv2d_shape("masked_conv2d_backward_weight", s);
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    const Dims d = dims_of(s);
    const int64_t gwp_size = s.c_out * d.kc;
    std::fill(gw, gw + s.c_out * s.c_in * d.kk, T(0));
    if (gwp_size == 0 || s.n * d.p == 0) return;
    // Block t accumulates into partials[t]; they are added in block order.
    const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    std::vector<T> partials(size_t(std::max(1, s.n >= max_threads ? max_threads : 1) * gwp_size));
    GemmFn* gemm = gemm_table().get(Device::CPU, dtype_of<T>::value);
    const int blocks = for_each_image_block(s.n, [&](int t, int, int64_t first, int64_t end) {
        T* acc = partials.data() + t * gwp_size;
        T* col = thread_scratch<T>(Scratch::conv_columns, d.kc * d.p);
        for (int64_t n = first; n < end; ++n) {
            im2col_masked(s, d, x + n * s.c_in * d.p, col);
            call_gemm(gemm, false, true, s.c_out, d.kc, d.p, gy + n * s.c_out * d.p, d.p, col, d.p, acc, d.kc,
                      n == first ? 0.0 : 1.0);
        }
    });
    // gw[co, ci, t] = sum over blocks of gwp[co, ci*T + t], for the kept taps t < T.
#pragma omp parallel for schedule(static)
    for (int64_t oc = 0; oc < s.c_out * s.c_in; ++oc)
        for (int64_t t = 0; t < d.taps; ++t) {
            T sum = partials[size_t(oc * d.taps + t)];
            for (int b = 1; b < blocks; ++b) sum += partials[size_t(b * gwp_size + oc * d.taps + t)];
            gw[oc * d.kk + t] = sum;
        }
}

// conv_implicit.cpp hands the shapes it does not serve to these.
template void masked_conv2d_forward_im2col<float>(const MaskedConv2dShape&, const void*, const void*, void*);
template void masked_conv2d_backward_input_im2col<float>(const MaskedConv2dShape&, const void*, const void*, void*);
template void masked_conv2d_backward_weight_im2col<float>(const MaskedConv2dShape&, const void*, const void*, void*);

}  // namespace mg::kernels::cpu

namespace mg::kernels {

template <class T>
static void register_masked_conv_dtype() {
    using namespace cpu;
    constexpr DType t = dtype_of<T>::value;
    masked_conv2d_forward_table().add("reference", Device::CPU, t, &masked_conv2d_forward_reference<T>, 0,
                                      "nested loops over the kept taps, double accumulation");
    masked_conv2d_backward_input_table().add("reference", Device::CPU, t, &masked_conv2d_backward_input_reference<T>,
                                             0, "nested loops gathering each input gradient, double accumulation");
    masked_conv2d_backward_weight_table().add("reference", Device::CPU, t,
                                              &masked_conv2d_backward_weight_reference<T>, 0,
                                              "nested loops over each kept tap's gradient, double accumulation");
    masked_conv2d_forward_table().add("im2col", Device::CPU, t, &masked_conv2d_forward_im2col<T>, 10,
                                      "im2col of the kept taps only, wp x col in the active GEMM; threads over images");
    masked_conv2d_backward_input_table().add("im2col", Device::CPU, t, &masked_conv2d_backward_input_im2col<T>, 10,
                                             "wp^T x gy in the active GEMM, col2im of the kept taps");
    masked_conv2d_backward_weight_table().add("im2col", Device::CPU, t, &masked_conv2d_backward_weight_im2col<T>,
                                              10, "gy x col^T of the kept taps, per-thread partials in thread order");
}

void register_cpu_masked_conv() {
    register_masked_conv_dtype<float>();
    register_masked_conv_dtype<double>();
}

}  // namespace mg::kernels
