// Conversions for the reduced-precision kernels (kernels/lowp.h), "reference" variants (and
// quantize's "vectorized", the same bits):
//
// quantize (as PyTorch's quantize_per_tensor / quantize_per_channel, FBGEMM and native paths):
//   q = clamp(zero_point + nearbyint(x * (1.0f / scale)), qmin, qmax)
//   x * (1/scale) in float32 (PyTorch multiplies by the float inverse, it does not divide), rounded
//   half to even (nearbyint in the default rounding mode: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2);
//   qmin..qmax = 0..255 (uint8) or -128..127 (int8). +-inf clamp to the range; NaN, which has
//   no quantized value, becomes the zero point (a real 0).
// dequantize: x = (float(q) - zero_point) * scale, in float32 (PyTorch's dequantize_val).
// float_to_bf16 / bf16_to_float: kernels/lowp.h's float_to_bf16_bits (nearest even, NaN kept).
#include <cmath>

#include "kernels/lowp.h"

namespace mg::kernels {

void check_quantize_args(const char* op, const QuantizeArgs& q, const void* in, const void* out) {
    MG_CHECK(q.outer >= 0 && q.channels >= 1 && q.inner >= 0, "{}: bad shape outer={} channels={} inner={}", op,
             q.outer, q.channels, q.inner);
    if (q.outer == 0 || q.inner == 0) return;
    MG_CHECK(in != nullptr && out != nullptr && q.scale != nullptr && q.zero_point != nullptr,
             "{}: null data, scale or zero point", op);
    const int32_t lo = q.to_signed ? -128 : 0, hi = q.to_signed ? 127 : 255;
    for (int64_t c = 0; c < q.channels; ++c) {
        MG_CHECK(std::isfinite(q.scale[c]) && q.scale[c] > 0, "{}: scale of channel {} is {}, not finite and > 0", op,
                 c, q.scale[c]);
        MG_CHECK(q.zero_point[c] >= lo && q.zero_point[c] <= hi, "{}: zero point of channel {} is {}, outside {}..{}",
                 op, c, q.zero_point[c], lo, hi);
    }
}

namespace {

template <class Q>
void quantize_loop(const QuantizeArgs& q, const float* x, Q* out) {
    const float qmin = q.to_signed ? -128.f : 0.f, qmax = q.to_signed ? 127.f : 255.f;
    for (int64_t o = 0; o < q.outer; ++o)
        for (int64_t c = 0; c < q.channels; ++c) {
            const float inv = 1.0f / q.scale[c];
            const float zp = float(q.zero_point[c]);
            const int64_t base = (o * q.channels + c) * q.inner;
            for (int64_t i = 0; i < q.inner; ++i) {
                const float v = x[base + i];
                float r = std::isnan(v) ? zp : zp + std::nearbyint(v * inv);
                r = r < qmin ? qmin : r > qmax ? qmax : r;
                out[base + i] = Q(r);
            }
        }
}

// f(out) with out as the int8 or uint8 array it is.
template <class F>
void with_quantized_type(const QuantizeArgs& q, void* out, F&& f) {
    if (q.to_signed)
        f(static_cast<int8_t*>(out));
    else
        f(static_cast<uint8_t*>(out));
}

void quantize_reference(const QuantizeArgs& q, const float* x, void* out) {
    check_quantize_args("quantize", q, x, out);
    with_quantized_type(q, out, [&](auto* o) { quantize_loop(q, x, o); });
}

// The same values without a call to nearbyint per element, so that the loop vectorizes: the
// value is clamped first to the integers [qmin - zp, qmax - zp] (clamping to integers commutes
// with rounding), and |v| <= 383 < 2^22 is then rounded to nearest even by adding and
// subtracting 1.5 * 2^23, which leaves no fraction bits in the default rounding mode.
template <class Q>
void quantize_vectorized_loop(const QuantizeArgs& q, const float* x, Q* out) {
    const float qmin = q.to_signed ? -128.f : 0.f, qmax = q.to_signed ? 127.f : 255.f;
    constexpr float kRound = 12582912.f;  // 1.5 * 2^23
    for (int64_t o = 0; o < q.outer; ++o)
        for (int64_t c = 0; c < q.channels; ++c) {
            const float inv = 1.0f / q.scale[c];
            const float zp = float(q.zero_point[c]), lo = qmin - zp, hi = qmax - zp;
            const int64_t base = (o * q.channels + c) * q.inner;
            const float* xs = x + base;
            Q* ys = out + base;
            const int64_t n = q.inner;  // a local: the byte stores below could alias q.inner
            for (int64_t i = 0; i < n; ++i) {
                float v = xs[i] * inv;
                v = v == v ? v : 0.f;  // NaN: the zero point
                v = v < lo ? lo : v;
                v = v > hi ? hi : v;
                ys[i] = Q(int32_t(zp + ((v + kRound) - kRound)));
            }
        }
}

void quantize_vectorized(const QuantizeArgs& q, const float* x, void* out) {
    check_quantize_args("quantize", q, x, out);
    with_quantized_type(q, out, [&](auto* o) { quantize_vectorized_loop(q, x, o); });
}

template <class Q>
void dequantize_loop(const QuantizeArgs& q, const Q* in, float* x) {
    for (int64_t o = 0; o < q.outer; ++o)
        for (int64_t c = 0; c < q.channels; ++c) {
            const int64_t base = (o * q.channels + c) * q.inner;
            for (int64_t i = 0; i < q.inner; ++i)
                x[base + i] = (float(in[base + i]) - float(q.zero_point[c])) * q.scale[c];
        }
}

void dequantize_reference(const QuantizeArgs& q, const void* in, float* x) {
    check_quantize_args("dequantize", q, in, x);
    if (q.to_signed)
        dequantize_loop(q, static_cast<const int8_t*>(in), x);
    else
        dequantize_loop(q, static_cast<const uint8_t*>(in), x);
}

void float_to_bf16_reference(int64_t n, const void* in, void* out) {
    MG_CHECK(n >= 0, "float_to_bf16: negative length {}", n);
    const auto* x = static_cast<const float*>(in);
    auto* y = static_cast<uint16_t*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16_bits(x[i]);
}

void bf16_to_float_reference(int64_t n, const void* in, void* out) {
    MG_CHECK(n >= 0, "bf16_to_float: negative length {}", n);
    const auto* x = static_cast<const uint16_t*>(in);
    auto* y = static_cast<float*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_bits_to_float(x[i]);
}

}  // namespace

void register_cpu_lowp_convert() {
    quantize_table().add("reference", Device::CPU, DType::Float32, &quantize_reference, 0,
                         "PyTorch's rounding: zero_point + nearbyint(x * (1/scale)), clamped; per tensor or channel");
    quantize_table().add("vectorized", Device::CPU, DType::Float32, &quantize_vectorized, 1,
                         "the reference's values; clamp, then round by adding 1.5 * 2^23: no libm call, vectorizes");
    dequantize_table().add("reference", Device::CPU, DType::Float32, &dequantize_reference, 0,
                           "(q - zero_point) * scale in float32, per tensor or channel");
    float_to_bf16_table().add("reference", Device::CPU, DType::Float32, &float_to_bf16_reference, 0,
                              "round to nearest even on the bits; NaN stays NaN (quieted)");
    bf16_to_float_table().add("reference", Device::CPU, DType::Float32, &bf16_to_float_reference, 0,
                              "exact: the bf16 bits are the float's top 16");
}

}  // namespace mg::kernels
