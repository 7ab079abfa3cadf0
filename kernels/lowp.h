// Reduced-precision CPU kernels: int8 and bf16 GEMM and convolution, and the conversions
// that feed them (kernels/args/lowp.h has the argument structs).
//
// Layout (int8): A = activations [m, k] uint8 (or int8), B = weights int8, C int32 or float32.
// u8 x s8 is what AVX-512 VNNI's vpdpbusd multiplies (4 byte pairs summed into each int32 lane);
// an int8 activation is handled as uint8 a + 128 with the compensation term
// (zero_point + 128) * colsum(B) subtracted, as for a uint8 zero point.
// The int8 sums are exact (k <= kMaxInt8GemmK keeps every partial sum inside int32), so every
// variant gives the reference's bits; the float output uses one fma per element.
//
// bf16 GEMM: A, B bf16, float32 accumulation (vdpbf16ps: the products of two bf16 pairs
// summed into a float lane, denormal inputs read as zero), float32 output.
//
// Convolutions (NCHW, groups = 1, shapes as kernels/conv.h's Conv2dShape):
//   conv2d_{int8,bf16}_forward           x [n, c_in, h, w], w [c_out, c_in, kh, kw] -> y [n, c_out, oh, ow]
//   conv_transpose2d_{int8,bf16}_forward x [n, c_out, oh, ow], w [c_out, c_in, kh, kw] -> y [n, c_in, h, w]
// conv_transpose2d at shape s is conv2d's backward_input at s (as in kernels/conv.h): its input
// has s.c_out channels and its output s.c_in, the weight is PyTorch's ConvTranspose2d layout
// [in, out, kh, kw], and its per-output-channel scales and bias have s.c_in entries.
// The int8 input's padding is its zero point (a real 0). Outputs are float32, overwritten.
//
// Dtype keys in the registry: the int8 ops under uint8, the others under float32.
#pragma once

#include <cstring>

#include "kernels/args/conv.h"
#include "kernels/args/lowp.h"
#include "kernels/registry.h"

namespace mg::kernels {

// The longest k of an int8 GEMM: |sum| <= k * 255 * 128 and the compensation term's as much,
// both within int32.
constexpr int64_t kMaxInt8GemmK = 32768;

// a: uint8/int8, c: int32 or float32 (kernels/args/lowp.h)
using GemmInt8Fn = void(const LowpGemmArgs& g, const void* a, const int8_t* b, void* c);
using GemmBf16Fn = void(const LowpGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c);
using ConvInt8Fn = void(const Conv2dShape& s, const LowpConvQuant& q, const void* x, const int8_t* w, float* y);
using ConvBf16Fn = void(const Conv2dShape& s, const uint16_t* x, const uint16_t* w, const float* bias, float* y);
using QuantizeFn = void(const QuantizeArgs& q, const float* x, void* out);
using DequantizeFn = void(const QuantizeArgs& q, const void* in, float* x);
using Bf16ConvertFn = void(int64_t n, const void* in, void* out);  // float -> bf16, or bf16 -> float

MG_KERNEL_TABLE(gemm_int8, GemmInt8Fn)
MG_KERNEL_TABLE(gemm_bf16, GemmBf16Fn)
MG_KERNEL_TABLE(conv2d_int8_forward, ConvInt8Fn)
MG_KERNEL_TABLE(conv_transpose2d_int8_forward, ConvInt8Fn)
MG_KERNEL_TABLE(conv2d_bf16_forward, ConvBf16Fn)
MG_KERNEL_TABLE(conv_transpose2d_bf16_forward, ConvBf16Fn)
MG_KERNEL_TABLE(quantize, QuantizeFn)
MG_KERNEL_TABLE(dequantize, DequantizeFn)
MG_KERNEL_TABLE(float_to_bf16, Bf16ConvertFn)
MG_KERNEL_TABLE(bf16_to_float, Bf16ConvertFn)

// The ops above, for `minigen info`.
inline constexpr const char* kLowpOps[] = {"gemm_int8",
                                           "gemm_bf16",
                                           "conv2d_int8_forward",
                                           "conv_transpose2d_int8_forward",
                                           "conv2d_bf16_forward",
                                           "conv_transpose2d_bf16_forward",
                                           "quantize",
                                           "dequantize",
                                           "float_to_bf16",
                                           "bf16_to_float"};

// float32 -> bf16, rounded to nearest even; a NaN stays a NaN (sign and top payload bits
// kept, made quiet); overflow rounds to infinity as IEEE says.
inline uint16_t float_to_bf16_bits(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x0040u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return uint16_t(bits >> 16);
}
inline float bf16_bits_to_float(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Throw mg::Error naming op[variant] unless the arguments are consistent (every variant
// checks first).
void check_lowp_gemm_args(const char* op, const char* variant, const LowpGemmArgs& g, const void* a, const void* b,
                          const void* c);
void check_lowp_conv_args(const char* op, const Conv2dShape& s, const void* x, const void* w, const void* y);
void check_int8_quant(const char* op, const LowpConvQuant& q);
void check_quantize_args(const char* op, const QuantizeArgs& q, const void* in, const void* out);

}  // namespace mg::kernels
