// conv2d "im2col": lower each convolution to the registry's active GEMM.
//
// For one image and one group, with Kc = C_in/g*KH*KW and P = OH*OW:
//   col = im2col(x)  [Kc, P]       col[(ci*KH + kh)*KW + kw][oh*OW + ow] = x[ci, ih, iw] (0 in padding)
//   forward          y_g  [C_out/g, P]  = W_g [C_out/g, Kc] · col
//   backward_input   col  [Kc, P]       = W_g^T · gy_g, then gx_g = col2im(col) (accumulating)
//   backward_weight  gw_g [C_out/g, Kc] = sum over images of gy_g · col^T
// What it changes against "reference": the inner products run in the GEMM (blocked,
// vectorised, whatever variant is active) instead of scalar loops; the lowering costs
// one pass over Kc*P elements per image and group.
//
// Batching: when P is small (7x7 outputs give P = 49) a GEMM with N = P leaves most of
// its micro-kernel tiles empty, so a chunk of B images is lowered side by side into one
// col [Kc, B*P] and the GEMM sees N (or K for the weight gradient) = B*P >= 512 where
// the thread has that many images (1.5x faster forward and backward_input, 1.07x
// backward_weight, on the dcgan 14x14 -> 7x7 conv with the AVX-512 GEMM).
// A 1x1 convolution with stride 1 and no padding has col == x: no lowering at all.
//
// Threads: images are split into one contiguous block per OpenMP thread; the GEMM
// inside a thread's block then runs single-threaded (nested regions are inactive),
// so it must be reentrant. With fewer images than threads the image loop is serial
// and the GEMM uses the threads itself. Each image's output depends only on that
// image, so forward and backward_input give the same bits for a given thread count;
// backward_weight accumulates one partial gw per thread (beta = 1 after the thread's
// first chunk) and adds the partials in thread order, which is fixed for a given
// thread count. A single GEMM over an [Kc, N*P] col would need N times the scratch
// (630 MB for the 7x7 masked conv at N = 64), so the partials win.
//
// Scratch, per thread, kept between calls (steady-state training allocates nothing):
// col [Kc, B*P] (B grows only while it stays under kMaxColElements; one image may need
// more: 9.8 MB in float32 for the 7x7 conv), and a [C_out/g, B*P] staging block for
// forward output or backward gy when B > 1. backward_weight also allocates the
// (threads - 1) partial weight gradients per call.
#include <omp.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/gemm.h"

namespace mg::kernels::cpu {

namespace {

// A GEMM whose N (forward, backward_input) or K (backward_weight) is below this
// leaves its micro-kernel tiles mostly empty; chunks of images fill it up.
// Measured on the 14x14 -> 7x7 conv: 256 is 5-8% slower than 512, beyond 512 no gain.
constexpr int64_t kTargetGemmColumns = 512;
// A weight gradient with at most this many columns per group is computed transposed.
constexpr int64_t kFewGradientColumns = 16;
// Chunks stop growing at this many col elements (8 MB in float32, 16 MB in float64).
constexpr int64_t kMaxColElements = int64_t(1) << 21;

struct ConvDims {
    int64_t cig, cog;  // channels per group, in and out
    int64_t kc;        // C_in/g * KH * KW: the GEMM's reduction length
    int64_t p;         // OH * OW
    int64_t hw;        // H * W
    bool direct;       // 1x1, stride 1, no padding: col is x itself
    bool shifted;      // stride 1 and OW == W: each tap lowers as one shifted copy (conv_blocks.h)
};

ConvDims conv_dims(const Conv2dShape& s) {
    ConvDims d;
    d.cig = s.c_in / s.groups;
    d.cog = s.c_out / s.groups;
    d.kc = d.cig * s.kh * s.kw;
    d.p = s.oh * s.ow;
    d.hw = s.h * s.w;
    d.direct = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
    d.shifted = s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w;
    return d;
}

// How many images one GEMM covers, for a thread that owns `images` images.
int64_t images_per_chunk(const ConvDims& d, int64_t images) {
    if (d.direct) return 1;
    int64_t b = (kTargetGemmColumns + d.p - 1) / d.p;
    b = std::min(b, std::max<int64_t>(1, kMaxColElements / std::max<int64_t>(1, d.kc * d.p)));
    return std::clamp<int64_t>(b, 1, std::max<int64_t>(1, images));
}

// [lo, hi): the outputs o in [0, out_size) whose input i = o*stride + offset lies in [0, in_size).
void valid_outputs(int64_t out_size, int64_t stride, int64_t offset, int64_t in_size, int64_t& lo, int64_t& hi) {
    lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    hi = in_size - 1 - offset < 0 ? 0 : (in_size - 1 - offset) / stride + 1;
    lo = std::min(lo, out_size);
    hi = std::clamp(hi, lo, out_size);
}

// col [Kc rows, P columns, row stride ldcol] = im2col(x [C_in/g, H, W]) for one image and group.
template <class T>
void im2col(const Conv2dShape& s, const ConvDims& d, const T* x, T* col, int64_t ldcol) {
    if (d.shifted) {
        for (int64_t ci = 0; ci < d.cig; ++ci)
            for (int64_t kh = 0; kh < s.kh; ++kh)
                for (int64_t kw = 0; kw < s.kw; ++kw)
                    lower_shifted_tap(shifted_tap(s.h, s.w, s.oh, kh * s.dil_h - s.pad_h, kw * s.dil_w - s.pad_w),
                                      x + ci * d.hw, s.w, s.oh, col + ((ci * s.kh + kh) * s.kw + kw) * ldcol);
        return;
    }
    for (int64_t ci = 0; ci < d.cig; ++ci)
        for (int64_t kh = 0; kh < s.kh; ++kh)
            for (int64_t kw = 0; kw < s.kw; ++kw) {
                T* row = col + ((ci * s.kh + kh) * s.kw + kw) * ldcol;
                const T* plane = x + ci * d.hw;
                const int64_t off_h = kh * s.dil_h - s.pad_h, off_w = kw * s.dil_w - s.pad_w;
                int64_t ow_lo, ow_hi;
                valid_outputs(s.ow, s.stride_w, off_w, s.w, ow_lo, ow_hi);
                for (int64_t oh = 0; oh < s.oh; ++oh) {
                    T* out = row + oh * s.ow;
                    const int64_t ih = oh * s.stride_h + off_h;
                    if (ih < 0 || ih >= s.h) {
                        std::fill(out, out + s.ow, T(0));
                        continue;
                    }
                    const T* in = plane + ih * s.w;
                    std::fill(out, out + ow_lo, T(0));
                    if (s.stride_w == 1) {
                        std::copy(in + ow_lo + off_w, in + ow_hi + off_w, out + ow_lo);
                    } else {
                        for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] = in[ow * s.stride_w + off_w];
                    }
                    std::fill(out + ow_hi, out + s.ow, T(0));
                }
            }
}

// gx [C_in/g, H, W] += col2im(col), the adjoint of im2col; the caller zeroes gx.
// The fixed loop order makes the accumulation order fixed too. col is scratch: the
// shifted path zeroes the entries of padding positions in place.
template <class T>
void col2im_add(const Conv2dShape& s, const ConvDims& d, T* col, int64_t ldcol, T* gx) {
    if (d.shifted) {
        for (int64_t ci = 0; ci < d.cig; ++ci)
            for (int64_t kh = 0; kh < s.kh; ++kh)
                for (int64_t kw = 0; kw < s.kw; ++kw)
                    lift_shifted_tap_add(shifted_tap(s.h, s.w, s.oh, kh * s.dil_h - s.pad_h, kw * s.dil_w - s.pad_w),
                                         col + ((ci * s.kh + kh) * s.kw + kw) * ldcol, s.w, gx + ci * d.hw);
        return;
    }
    for (int64_t ci = 0; ci < d.cig; ++ci)
        for (int64_t kh = 0; kh < s.kh; ++kh)
            for (int64_t kw = 0; kw < s.kw; ++kw) {
                const T* row = col + ((ci * s.kh + kh) * s.kw + kw) * ldcol;
                T* plane = gx + ci * d.hw;
                const int64_t off_h = kh * s.dil_h - s.pad_h, off_w = kw * s.dil_w - s.pad_w;
                int64_t ow_lo, ow_hi;
                valid_outputs(s.ow, s.stride_w, off_w, s.w, ow_lo, ow_hi);
                for (int64_t oh = 0; oh < s.oh; ++oh) {
                    const int64_t ih = oh * s.stride_h + off_h;
                    if (ih < 0 || ih >= s.h) continue;
                    const T* in = row + oh * s.ow;
                    T* out = plane + ih * s.w;
                    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow * s.stride_w + off_w] += in[ow];
                }
            }
}

// Copies gy_g for images [n0, n0+b) into gyc [C_out/g, b*P], the layout of a chunk's col.
template <class T>
void gather_gy_chunk(const Conv2dShape& s, const ConvDims& d, const T* gy, int64_t n0, int64_t b, int64_t g,
                     T* gyc) {
    for (int64_t co = 0; co < d.cog; ++co)
        for (int64_t i = 0; i < b; ++i) {
            const T* src = gy + ((n0 + i) * s.c_out + g * d.cog + co) * d.p;
            std::copy(src, src + d.p, gyc + co * b * d.p + i * d.p);
        }
}

}  // namespace

// y [N, C_out, OH, OW] = conv(x [N, C_in, H, W], w [C_out, C_in/g, KH, KW])
template <class T>
void conv2d_forward_im2col(const Conv2dShape& s, const void* xv, const void* wv, void* yv) {
    check_conv2d_shape("conv2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    const T* w = static_cast<const T*>(wv);
    T* y = static_cast<T*>(yv);
    const ConvDims d = conv_dims(s);
    if (done_if_empty(y, s.n * s.c_out * d.p, d.kc == 0)) return;
    GemmFn* gemm = gemm_table().get(Device::CPU, dtype_of<T>::value);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        const int64_t chunk = images_per_chunk(d, end - first);
        T* col = d.direct ? nullptr : thread_scratch<T>(Scratch::conv_columns, d.kc * chunk * d.p);
        T* staging = chunk > 1 ? thread_scratch<T>(Scratch::conv_staging, d.cog * chunk * d.p) : nullptr;
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t b = std::min(chunk, end - n0), cols = b * d.p;
            for (int64_t g = 0; g < s.groups; ++g) {
                const T* wg = w + g * d.cog * d.kc;
                T* yg = y + (n0 * s.c_out + g * d.cog) * d.p;
                if (d.direct) {
                    const T* xg = x + (n0 * s.c_in + g * d.cig) * d.hw;
                    call_gemm(gemm, false, false, d.cog, d.p, d.kc, wg, d.kc, xg, d.p, yg, d.p, 0.0);
                    continue;
                }
                for (int64_t i = 0; i < b; ++i)
                    im2col(s, d, x + ((n0 + i) * s.c_in + g * d.cig) * d.hw, col + i * d.p, cols);
                if (b == 1) {
                    call_gemm(gemm, false, false, d.cog, d.p, d.kc, wg, d.kc, col, d.p, yg, d.p, 0.0);
                    continue;
                }
                // staging [C_out/g, b*P] -> y[n0 + i, g*C_out/g + co, :]
                call_gemm(gemm, false, false, d.cog, cols, d.kc, wg, d.kc, col, cols, staging, cols, 0.0);
                for (int64_t i = 0; i < b; ++i)
                    for (int64_t co = 0; co < d.cog; ++co) {
                        const T* src = staging + co * cols + i * d.p;
                        std::copy(src, src + d.p, y + ((n0 + i) * s.c_out + g * d.cog + co) * d.p);
                    }
            }
        }
    });
}

// gx [N, C_in, H, W] = conv^T(gy [N, C_out, OH, OW], w [C_out, C_in/g, KH, KW])
template <class T>
void conv2d_backward_input_im2col(const Conv2dShape& s, const void* gyv, const void* wv, void* gxv) {
    check_conv2d_shape("conv2d_backward_input", s);
    const T* gy = static_cast<const T*>(gyv);
    const T* w = static_cast<const T*>(wv);
    T* gx = static_cast<T*>(gxv);
    const ConvDims d = conv_dims(s);
    if (done_if_empty(gx, s.n * s.c_in * d.hw, d.p == 0 || d.cog == 0)) return;
    GemmFn* gemm = gemm_table().get(Device::CPU, dtype_of<T>::value);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        const int64_t chunk = images_per_chunk(d, end - first);
        T* col = d.direct ? nullptr : thread_scratch<T>(Scratch::conv_columns, d.kc * chunk * d.p);
        T* gy_chunk = chunk > 1 ? thread_scratch<T>(Scratch::conv_staging, d.cog * chunk * d.p) : nullptr;
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t b = std::min(chunk, end - n0), cols = b * d.p;
            for (int64_t g = 0; g < s.groups; ++g) {
                const T* wg = w + g * d.cog * d.kc;  // [C_out/g, Kc], used transposed
                const T* gyg = gy + (n0 * s.c_out + g * d.cog) * d.p;
                if (d.direct) {
                    T* gxg = gx + (n0 * s.c_in + g * d.cig) * d.hw;
                    call_gemm(gemm, true, false, d.kc, d.p, d.cog, wg, d.kc, gyg, d.p, gxg, d.hw, 0.0);
                    continue;
                }
                if (b > 1) {
                    gather_gy_chunk(s, d, gy, n0, b, g, gy_chunk);
                    gyg = gy_chunk;
                }
                call_gemm(gemm, true, false, d.kc, cols, d.cog, wg, d.kc, gyg, cols, col, cols, 0.0);
                for (int64_t i = 0; i < b; ++i) {
                    T* gxg = gx + ((n0 + i) * s.c_in + g * d.cig) * d.hw;
                    std::fill(gxg, gxg + d.cig * d.hw, T(0));
                    col2im_add(s, d, col + i * d.p, cols, gxg);
                }
            }
        }
    });
}

// gw [C_out, C_in/g, KH, KW] = sum over images of gy_g · im2col(x)^T
template <class T>
void conv2d_backward_weight_im2col(const Conv2dShape& s, const void* xv, const void* gyv, void* gwv) {
    check_conv2d_shape("conv2d_backward_weight", s);
    const T* x = static_cast<const T*>(xv);
    const T* gy = static_cast<const T*>(gyv);
    T* gw = static_cast<T*>(gwv);
    const ConvDims d = conv_dims(s);
    const int64_t gw_size = s.c_out * d.kc;
    if (gw_size == 0) return;
    if (s.n * d.p == 0) {
        std::fill(gw, gw + gw_size, T(0));
        return;
    }
    GemmFn* gemm = gemm_table().get(Device::CPU, dtype_of<T>::value);
    // A gradient with few columns (Kc = 9 for a 3x3 conv on one input channel) would use a
    // sliver of every 32-wide GEMM tile; its transpose gw^T = col · gy^T [Kc, C_out/g] has them
    // as rows instead (at 1 thread: the classifier's first conv 1.47 -> 0.69 ms, dcgan D's first
    // 0.40 -> 0.34 ms). Then every block accumulates a gw^T, and the end transposes them back
    // while adding.
    const bool transposed = !d.direct && d.kc <= kFewGradientColumns && d.cog > d.kc;
    // Thread 0 accumulates into gw itself (or partials[0] when transposed), thread t > 0 into
    // partials[t - 1] (partials[t]).
    const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    const int64_t own = transposed ? 1 : 0;
    std::vector<T> partials(size_t((s.n >= max_threads ? max_threads - 1 + own : own) * gw_size));
    const int blocks = for_each_image_block(s.n, [&](int t, int, int64_t first, int64_t end) {
        T* acc = t == 0 && !transposed ? gw : partials.data() + (t - 1 + own) * gw_size;
        const int64_t chunk = images_per_chunk(d, end - first);
        T* col = d.direct ? nullptr : thread_scratch<T>(Scratch::conv_columns, d.kc * chunk * d.p);
        T* gy_chunk = chunk > 1 ? thread_scratch<T>(Scratch::conv_staging, d.cog * chunk * d.p) : nullptr;
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t b = std::min(chunk, end - n0), cols = b * d.p;
            const double beta = n0 == first ? 0.0 : 1.0;
            for (int64_t g = 0; g < s.groups; ++g) {
                T* gwg = acc + g * d.cog * d.kc;  // [C_out/g, Kc], or [Kc, C_out/g] when transposed
                const T* gyg = gy + (n0 * s.c_out + g * d.cog) * d.p;
                if (d.direct) {
                    const T* xg = x + (n0 * s.c_in + g * d.cig) * d.hw;  // [C_in/g, P], used transposed
                    call_gemm(gemm, false, true, d.cog, d.kc, d.p, gyg, d.p, xg, d.hw, gwg, d.kc, beta);
                    continue;
                }
                for (int64_t i = 0; i < b; ++i)
                    im2col(s, d, x + ((n0 + i) * s.c_in + g * d.cig) * d.hw, col + i * d.p, cols);
                if (b > 1) {
                    gather_gy_chunk(s, d, gy, n0, b, g, gy_chunk);
                    gyg = gy_chunk;
                }
                if (transposed)
                    call_gemm(gemm, false, true, d.kc, d.cog, cols, col, cols, gyg, cols, gwg, d.cog, beta);
                else
                    call_gemm(gemm, false, true, d.cog, d.kc, cols, gyg, cols, col, cols, gwg, d.kc, beta);
            }
        }
    });
    if (transposed) {
        // gw[g][co][k] = sum over blocks, in thread order, of gw^T[g][k][co].
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < gw_size; ++i) {
            const int64_t g = i / (d.cog * d.kc), co = i / d.kc % d.cog, k = i % d.kc;
            const int64_t at = g * d.cog * d.kc + k * d.cog + co;
            T sum = partials[size_t(at)];
            for (int t = 1; t < blocks; ++t) sum += partials[size_t(t * gw_size + at)];
            gw[i] = sum;
        }
        return;
    }
    add_partials_in_order(gw, partials.data(), gw_size, blocks);
}

template void conv2d_forward_im2col<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_forward_im2col<double>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_input_im2col<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_input_im2col<double>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_weight_im2col<float>(const Conv2dShape&, const void*, const void*, void*);
template void conv2d_backward_weight_im2col<double>(const Conv2dShape&, const void*, const void*, void*);

}  // namespace mg::kernels::cpu
