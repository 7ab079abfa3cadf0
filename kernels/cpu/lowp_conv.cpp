// The reduced-precision convolutions (kernels/lowp.h): argument checks, "reference" variants
// (direct loops) and "im2col" variants (lowered onto the active gemm_int8 / gemm_bf16), and
// registration.
//
// reference: conv2d as the plain 7-deep loop; conv_transpose2d as the scatter of every input
//   value through every tap. int8: exact int32 sums of (x - zero point) * w (padding adds 0),
//   then y = fma(float(acc), a_scale * w_scale[co], bias[co]); bf16: sums in double, + bias,
//   rounded once.
// im2col: one row per output (conv2d) or input (conv_transpose2d) position, since the
//   quantized GEMM wants the activations as A [m, k] and the weight as B (kernels/lowp.h):
//     conv2d            rows [P, c_in*kh*kw] (padding = the zero point) · w^T -> [P, c_out], then
//                       transposed into NCHW; the GEMM's epilogue applies scales and bias.
//     conv_transpose2d  rows = x^T [P, c_out] · w [c_out, c_in*kh*kw] -> cols [P, c_in*kh*kw], then
//                       col2im: int8 sums the int32 columns (exact, so the reference's bits)
//                       before the scales; bf16 sums float columns (float rounding, checked
//                       against the reference within tolerance).
//   Images are lowered side by side until a GEMM has >= 1024 rows (7x7 maps give 49 rows each);
//   threads take blocks of images and run their GEMMs single-threaded (for_each_image_block).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/lowp.h"

namespace mg::kernels {

void check_lowp_conv_args(const char* op, const Conv2dShape& s, const void* x, const void* w, const void* y) {
    check_conv2d_shape(op, s);
    MG_CHECK(s.groups == 1, "{}: groups={} (the reduced-precision convolutions have groups = 1 only)", op, s.groups);
    if (s.n * s.c_in * s.h * s.w == 0 || s.n * s.c_out * s.oh * s.ow == 0) return;
    MG_CHECK(x != nullptr && w != nullptr && y != nullptr, "{}: null input, weight or output", op);
}

void check_int8_quant(const char* op, const LowpConvQuant& q) {
    const int32_t lo = q.a_signed ? -128 : 0, hi = q.a_signed ? 127 : 255;
    MG_CHECK(q.a_zero_point >= lo && q.a_zero_point <= hi, "{}: activation zero point {} is outside {}..{}", op,
             q.a_zero_point, lo, hi);
    MG_CHECK(std::isfinite(q.a_scale) && q.a_scale > 0, "{}: activation scale {} is not finite and > 0", op, q.a_scale);
    MG_CHECK(q.w_scale != nullptr, "{}: no per-channel weight scales", op);
}

namespace {

// GEMM rows per lowered chunk of images: each GEMM packs its weights again, so more rows
// spread that cost (at 256 rows packing took a third of the GEMM's time).
constexpr int64_t kTargetRows = 1024;
constexpr int64_t kMaxRowElements = int64_t(1) << 22;  // a chunk's lowered input stops growing here

// The taps [lo, hi) of a kernel of `taps` taps at output position o that land inside the input
// (0 <= o * stride - pad + t * dil < size): the loops below run those without a test per tap.
struct TapRange {
    int64_t lo, hi;
};
TapRange taps_inside(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t taps, int64_t size) {
    const int64_t start = o * stride - pad;  // input index of tap 0
    int64_t lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
    int64_t hi = start >= size ? 0 : std::min(taps, (size - 1 - start) / dil + 1);
    return {std::min(lo, taps), std::max(hi, std::min(lo, taps))};
}

// ---- reference -------------------------------------------------------------------------------

int32_t activation(const void* x, bool is_signed, int64_t i) {
    return is_signed ? int32_t(static_cast<const int8_t*>(x)[i]) : int32_t(static_cast<const uint8_t*>(x)[i]);
}

float dequantize_acc(int32_t acc, const LowpConvQuant& q, int64_t channel) {
    return std::fma(float(acc), q.a_scale * q.w_scale[channel], q.bias ? q.bias[channel] : 0.f);
}

// Calls tap(ci, ih, iw, kh, kw) for every product that reaches output (oh, ow) of the
// convolution s (both directions walk the same products).
template <class Tap>
void for_each_tap(const Conv2dShape& s, int64_t oh, int64_t ow, Tap tap) {
    const TapRange rh = taps_inside(oh, s.stride_h, s.pad_h, s.dil_h, s.kh, s.h);
    const TapRange rw = taps_inside(ow, s.stride_w, s.pad_w, s.dil_w, s.kw, s.w);
    for (int64_t ci = 0; ci < s.c_in; ++ci)
        for (int64_t kh = rh.lo; kh < rh.hi; ++kh)
            for (int64_t kw = rw.lo; kw < rw.hi; ++kw)
                tap(ci, oh * s.stride_h - s.pad_h + kh * s.dil_h, ow * s.stride_w - s.pad_w + kw * s.dil_w, kh, kw);
}

int64_t x_index(const Conv2dShape& s, int64_t n, int64_t ci, int64_t ih, int64_t iw) {
    return ((n * s.c_in + ci) * s.h + ih) * s.w + iw;
}
int64_t y_index(const Conv2dShape& s, int64_t n, int64_t co, int64_t oh, int64_t ow) {
    return ((n * s.c_out + co) * s.oh + oh) * s.ow + ow;
}
int64_t w_index(const Conv2dShape& s, int64_t co, int64_t ci, int64_t kh, int64_t kw) {
    return ((co * s.c_in + ci) * s.kh + kh) * s.kw + kw;
}

// Visits every output position of s (the conv2d direction).
template <class Body>
void for_each_output(const Conv2dShape& s, Body body) {
    for (int64_t n = 0; n < s.n; ++n)
        for (int64_t co = 0; co < s.c_out; ++co)
            for (int64_t oh = 0; oh < s.oh; ++oh)
                for (int64_t ow = 0; ow < s.ow; ++ow) body(n, co, oh, ow);
}

void conv2d_int8_reference(const Conv2dShape& s, const LowpConvQuant& q, const void* x, const int8_t* w, float* y) {
    check_lowp_conv_args("conv2d_int8_forward", s, x, w, y);
    check_int8_quant("conv2d_int8_forward", q);
    for_each_output(s, [&](int64_t n, int64_t co, int64_t oh, int64_t ow) {
        int32_t acc = 0;
        for_each_tap(s, oh, ow, [&](int64_t ci, int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
            acc += (activation(x, q.a_signed, x_index(s, n, ci, ih, iw)) - q.a_zero_point) *
                   int32_t(w[w_index(s, co, ci, kh, kw)]);
        });
        y[y_index(s, n, co, oh, ow)] = dequantize_acc(acc, q, co);
    });
}

void conv_transpose2d_int8_reference(const Conv2dShape& s, const LowpConvQuant& q, const void* x, const int8_t* w,
                                     float* y) {
    check_lowp_conv_args("conv_transpose2d_int8_forward", s, x, w, y);
    check_int8_quant("conv_transpose2d_int8_forward", q);
    std::vector<int32_t> acc(size_t(s.n * s.c_in * s.h * s.w), 0);
    for_each_output(s, [&](int64_t n, int64_t co, int64_t oh, int64_t ow) {
        const int32_t v = activation(x, q.a_signed, y_index(s, n, co, oh, ow)) - q.a_zero_point;
        for_each_tap(s, oh, ow, [&](int64_t ci, int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
            acc[size_t(x_index(s, n, ci, ih, iw))] += v * int32_t(w[w_index(s, co, ci, kh, kw)]);
        });
    });
    const int64_t hw = s.h * s.w;
    for (int64_t i = 0; i < int64_t(acc.size()); ++i) y[i] = dequantize_acc(acc[size_t(i)], q, (i / hw) % s.c_in);
}

float bf16_at(const uint16_t* p, int64_t i) { return bf16_bits_to_float(p[i]); }

void conv2d_bf16_reference(const Conv2dShape& s, const uint16_t* x, const uint16_t* w, const float* bias, float* y) {
    check_lowp_conv_args("conv2d_bf16_forward", s, x, w, y);
    for_each_output(s, [&](int64_t n, int64_t co, int64_t oh, int64_t ow) {
        double sum = bias ? double(bias[co]) : 0.0;
        for_each_tap(s, oh, ow, [&](int64_t ci, int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
            sum += double(bf16_at(x, x_index(s, n, ci, ih, iw))) * double(bf16_at(w, w_index(s, co, ci, kh, kw)));
        });
        y[y_index(s, n, co, oh, ow)] = float(sum);
    });
}

void conv_transpose2d_bf16_reference(const Conv2dShape& s, const uint16_t* x, const uint16_t* w, const float* bias,
                                     float* y) {
    check_lowp_conv_args("conv_transpose2d_bf16_forward", s, x, w, y);
    const int64_t hw = s.h * s.w;
    std::vector<double> acc(size_t(s.n * s.c_in * hw), 0.0);
    for_each_output(s, [&](int64_t n, int64_t co, int64_t oh, int64_t ow) {
        const double v = bf16_at(x, y_index(s, n, co, oh, ow));
        for_each_tap(s, oh, ow, [&](int64_t ci, int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
            acc[size_t(x_index(s, n, ci, ih, iw))] += v * double(bf16_at(w, w_index(s, co, ci, kh, kw)));
        });
    });
    for (int64_t i = 0; i < int64_t(acc.size()); ++i)
        y[i] = float(acc[size_t(i)] + (bias ? double(bias[(i / hw) % s.c_in]) : 0.0));
}

// ---- im2col ----------------------------------------------------------------------------------

// How many images one GEMM covers: enough for kTargetRows rows, within kMaxRowElements.
int64_t images_per_chunk(int64_t rows_per_image, int64_t row_length, int64_t images) {
    int64_t chunk = (kTargetRows + rows_per_image - 1) / std::max<int64_t>(rows_per_image, 1);
    chunk = std::min(chunk, std::max<int64_t>(1, kMaxRowElements / std::max<int64_t>(rows_per_image * row_length, 1)));
    return std::clamp<int64_t>(chunk, 1, std::max<int64_t>(images, 1));
}

// rows [oh*ow, c_in*kh*kw] of one image x [c_in, h, w]; taps in the padding read `pad`.
template <class E>
void lower_rows(const Conv2dShape& s, const E* x, E pad, E* rows) {
    const int64_t kc = s.c_in * s.kh * s.kw;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
        const TapRange rh = taps_inside(oh, s.stride_h, s.pad_h, s.dil_h, s.kh, s.h);
        for (int64_t ow = 0; ow < s.ow; ++ow) {
            const TapRange rw = taps_inside(ow, s.stride_w, s.pad_w, s.dil_w, s.kw, s.w);
            const int64_t iw0 = ow * s.stride_w - s.pad_w;
            E* row = rows + (oh * s.ow + ow) * kc;
            if (rh.hi - rh.lo < s.kh || rw.hi - rw.lo < s.kw) std::fill(row, row + kc, pad);
            for (int64_t ci = 0; ci < s.c_in; ++ci)
                for (int64_t kh = rh.lo; kh < rh.hi; ++kh) {
                    const int64_t in = (ci * s.h + oh * s.stride_h - s.pad_h + kh * s.dil_h) * s.w + iw0;
                    E* out = row + (ci * s.kh + kh) * s.kw;
                    for (int64_t kw = rw.lo; kw < rw.hi; ++kw) out[kw] = x[in + kw * s.dil_w];
                }
        }
    }
}

// out [c, p] (one image, NCHW) = in [p, c] (row stride c) transposed.
template <class Src, class Dst>
void transpose(const Src* in, int64_t p, int64_t c, Dst* out) {
    for (int64_t i = 0; i < p; ++i)
        for (int64_t j = 0; j < c; ++j) out[j * p + i] = Dst(in[i * c + j]);
}

// conv2d forward through `gemm(g, rows, staging)`, which fills staging [m, c_out] (float) with
// outputs complete but for the layout.
template <class E, class Gemm>
void conv2d_rows(const Conv2dShape& s, const E* x, E pad, float* y, Gemm gemm) {
    const int64_t p = s.oh * s.ow, kc = s.c_in * s.kh * s.kw;
    const int64_t chunk = images_per_chunk(p, kc, s.n);
    cpu::for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t count = std::min(chunk, end - n0);
            E* rows = static_cast<E*>(
                cpu::thread_scratch_bytes(cpu::Scratch::conv_columns, count * p * kc * int64_t(sizeof(E))));
            float* staging = cpu::thread_scratch<float>(cpu::Scratch::conv_staging, count * p * s.c_out);
            for (int64_t i = 0; i < count; ++i)
                lower_rows(s, x + (n0 + i) * s.c_in * s.h * s.w, pad, rows + i * p * kc);
            LowpGemmArgs g;
            g.m = count * p, g.n = s.c_out, g.k = kc;
            g.lda = kc, g.ldb = kc, g.ldc = s.c_out, g.trans_b = true;
            gemm(g, rows, staging);
            for (int64_t i = 0; i < count; ++i)
                transpose(staging + i * p * s.c_out, p, s.c_out, y + (n0 + i) * s.c_out * p);
        }
    });
}

// conv_transpose2d forward: cols [m, c_in*kh*kw] of Acc from `gemm(g, rows, cols)`, summed into
// acc [c_in, h, w] per image (col2im), then finish(image, acc) writes the image's output.
template <class E, class Acc, class Gemm, class Finish>
void conv_transpose2d_rows(const Conv2dShape& s, const E* x, Gemm gemm, Finish finish) {
    const int64_t p = s.oh * s.ow, ncols = s.c_in * s.kh * s.kw, hw = s.h * s.w;
    const int64_t chunk = images_per_chunk(p, std::max(s.c_out, ncols), s.n);
    cpu::for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        thread_local std::vector<Acc> acc;
        acc.resize(size_t(s.c_in * hw));
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t count = std::min(chunk, end - n0);
            E* rows = static_cast<E*>(
                cpu::thread_scratch_bytes(cpu::Scratch::conv_columns, count * p * s.c_out * int64_t(sizeof(E))));
            Acc* cols = static_cast<Acc*>(
                cpu::thread_scratch_bytes(cpu::Scratch::conv_staging, count * p * ncols * int64_t(sizeof(Acc))));
            for (int64_t i = 0; i < count; ++i)
                transpose(x + (n0 + i) * s.c_out * p, s.c_out, p, rows + i * p * s.c_out);
            LowpGemmArgs g;
            g.m = count * p, g.n = ncols, g.k = s.c_out;
            g.lda = s.c_out, g.ldb = ncols, g.ldc = ncols;
            gemm(g, rows, cols);
            for (int64_t i = 0; i < count; ++i) {
                std::fill(acc.begin(), acc.end(), Acc(0));
                const Acc* ci_cols = cols + i * p * ncols;
                for (int64_t oh = 0; oh < s.oh; ++oh) {
                    const TapRange rh = taps_inside(oh, s.stride_h, s.pad_h, s.dil_h, s.kh, s.h);
                    for (int64_t ow = 0; ow < s.ow; ++ow) {
                        const TapRange rw = taps_inside(ow, s.stride_w, s.pad_w, s.dil_w, s.kw, s.w);
                        const int64_t iw0 = ow * s.stride_w - s.pad_w;
                        const Acc* col = ci_cols + (oh * s.ow + ow) * ncols;
                        for (int64_t ci = 0; ci < s.c_in; ++ci)
                            for (int64_t kh = rh.lo; kh < rh.hi; ++kh) {
                                const int64_t out = (ci * s.h + oh * s.stride_h - s.pad_h + kh * s.dil_h) * s.w + iw0;
                                const Acc* taps = col + (ci * s.kh + kh) * s.kw;
                                for (int64_t kw = rw.lo; kw < rw.hi; ++kw) acc[size_t(out + kw * s.dil_w)] += taps[kw];
                            }
                    }
                }
                finish(n0 + i, acc.data());
            }
        }
    });
}

LowpGemmArgs with_quant(LowpGemmArgs g, const LowpConvQuant& q) {
    g.a_signed = q.a_signed;
    g.a_zero_point = q.a_zero_point;
    return g;
}

void conv2d_int8_im2col(const Conv2dShape& s, const LowpConvQuant& q, const void* x, const int8_t* w, float* y) {
    check_lowp_conv_args("conv2d_int8_forward", s, x, w, y);
    check_int8_quant("conv2d_int8_forward", q);
    if (s.n * s.c_out * s.oh * s.ow == 0) return;
    GemmInt8Fn* gemm = gemm_int8_table().get(Device::CPU, DType::UInt8);
    const auto pad = uint8_t(q.a_zero_point);  // the zero point's byte, int8 or uint8
    conv2d_rows(s, static_cast<const uint8_t*>(x), pad, y, [&](LowpGemmArgs g, const uint8_t* rows, float* out) {
        g = with_quant(g, q);
        g.a_scale = q.a_scale, g.col_scale = q.w_scale, g.bias = q.bias;
        gemm(g, rows, w, out);
    });
}

void conv_transpose2d_int8_im2col(const Conv2dShape& s, const LowpConvQuant& q, const void* x, const int8_t* w,
                                  float* y) {
    check_lowp_conv_args("conv_transpose2d_int8_forward", s, x, w, y);
    check_int8_quant("conv_transpose2d_int8_forward", q);
    if (s.n * s.c_in * s.h * s.w == 0) return;
    GemmInt8Fn* gemm = gemm_int8_table().get(Device::CPU, DType::UInt8);
    const int64_t hw = s.h * s.w;
    conv_transpose2d_rows<uint8_t, int32_t>(
        s, static_cast<const uint8_t*>(x),
        [&](LowpGemmArgs g, const uint8_t* rows, int32_t* cols) { gemm(with_quant(g, q), rows, w, cols); },
        [&](int64_t n, const int32_t* acc) {
            float* out = y + n * s.c_in * hw;
            for (int64_t ci = 0; ci < s.c_in; ++ci)
                for (int64_t i = 0; i < hw; ++i) out[ci * hw + i] = dequantize_acc(acc[ci * hw + i], q, ci);
        });
}

void conv2d_bf16_im2col(const Conv2dShape& s, const uint16_t* x, const uint16_t* w, const float* bias, float* y) {
    check_lowp_conv_args("conv2d_bf16_forward", s, x, w, y);
    if (s.n * s.c_out * s.oh * s.ow == 0) return;
    GemmBf16Fn* gemm = gemm_bf16_table().get(Device::CPU, DType::Float32);
    conv2d_rows(s, x, uint16_t(0), y, [&](LowpGemmArgs g, const uint16_t* rows, float* out) {
        g.bias = bias;
        gemm(g, rows, w, out);
    });
}

void conv_transpose2d_bf16_im2col(const Conv2dShape& s, const uint16_t* x, const uint16_t* w, const float* bias,
                                  float* y) {
    check_lowp_conv_args("conv_transpose2d_bf16_forward", s, x, w, y);
    if (s.n * s.c_in * s.h * s.w == 0) return;
    GemmBf16Fn* gemm = gemm_bf16_table().get(Device::CPU, DType::Float32);
    const int64_t hw = s.h * s.w;
    conv_transpose2d_rows<uint16_t, float>(
        s, x, [&](const LowpGemmArgs& g, const uint16_t* rows, float* cols) { gemm(g, rows, w, cols); },
        [&](int64_t n, const float* acc) {
            float* out = y + n * s.c_in * hw;
            for (int64_t ci = 0; ci < s.c_in; ++ci)
                for (int64_t i = 0; i < hw; ++i) out[ci * hw + i] = acc[ci * hw + i] + (bias ? bias[ci] : 0.f);
        });
}

}  // namespace

void register_cpu_lowp_conv() {
    const char* ref_int8 = "direct loops, exact int32 sums, then scales and bias: the ground truth";
    const char* ref_bf16 = "direct loops over bf16 values widened to double: the ground truth";
    const char* im2col = "one row per position, lowered onto the active reduced-precision GEMM";
    conv2d_int8_forward_table().add("reference", Device::CPU, DType::UInt8, &conv2d_int8_reference, 0, ref_int8);
    conv2d_int8_forward_table().add("im2col", Device::CPU, DType::UInt8, &conv2d_int8_im2col, 10, im2col);
    conv_transpose2d_int8_forward_table().add("reference", Device::CPU, DType::UInt8, &conv_transpose2d_int8_reference,
                                              0, ref_int8);
    conv_transpose2d_int8_forward_table().add("im2col", Device::CPU, DType::UInt8, &conv_transpose2d_int8_im2col, 10,
                                              im2col);
    conv2d_bf16_forward_table().add("reference", Device::CPU, DType::Float32, &conv2d_bf16_reference, 0, ref_bf16);
    conv2d_bf16_forward_table().add("im2col", Device::CPU, DType::Float32, &conv2d_bf16_im2col, 10, im2col);
    conv_transpose2d_bf16_forward_table().add("reference", Device::CPU, DType::Float32,
                                              &conv_transpose2d_bf16_reference, 0, ref_bf16);
    conv_transpose2d_bf16_forward_table().add("im2col", Device::CPU, DType::Float32, &conv_transpose2d_bf16_im2col, 10,
                                              im2col);
}

}  // namespace mg::kernels
