// The arguments of the reduced-precision CPU kernels (kernels/lowp.h), plain for nvcc.
#pragma once

#include <cstdint>

namespace mg::kernels {

// C [m, n] = A [m, k] · B [k, n], row-major, leading dimensions in elements.
//   int8 GEMM (gemm_int8): A uint8 (or int8 when a_signed), B int8, accumulated exactly in int32.
//     The real activation is a_scale * (a - a_zero_point); the weights are symmetric (zero point 0).
//     C is int32 (the exact sum of (a - a_zero_point) * b) when col_scale is null, else float32:
//     c = fma(float(acc), a_scale * col_scale[j], bias ? bias[j] : 0).
//   bf16 GEMM (gemm_bf16): A and B bf16 (uint16_t bit patterns), C float32 = sum + bias[j].
// trans_b: B is stored [n, k] (a weight as [out, in], ldb >= k) instead of [k, n] (ldb >= n).
struct LowpGemmArgs {
    int64_t m = 0, n = 0, k = 0;
    int64_t lda = 0, ldb = 0, ldc = 0;
    bool trans_b = false;
    bool a_signed = false;             // int8 only
    int32_t a_zero_point = 0;          // int8 only: in A's own range (0..255, or -128..127)
    float a_scale = 1.f;               // int8 float output only
    const float* col_scale = nullptr;  // [n], int8: null = int32 output
    const float* bias = nullptr;       // [n] or null (float output)
};

// The quantization of an activation and a weight for the int8 convolutions: the
// activation per tensor (a_scale, a_zero_point, uint8 or int8), the weight int8 per
// output channel (w_scale [C_out], zero point 0); y = a_scale * w_scale[co] * acc + bias[co].
struct LowpConvQuant {
    bool a_signed = false;
    int32_t a_zero_point = 0;
    float a_scale = 1.f;
    const float* w_scale = nullptr;  // [output channels], required
    const float* bias = nullptr;     // [output channels] or null
};

// quantize / dequantize: x viewed as [outer, channels, inner]; channel c has scale[c] and
// zero_point[c]. Per tensor: channels = 1. q is uint8 (0..255) or int8 when to_signed.
struct QuantizeArgs {
    int64_t outer = 1, channels = 1, inner = 0;
    const float* scale = nullptr;         // [channels], each > 0 and finite
    const int32_t* zero_point = nullptr;  // [channels], each in q's range
    bool to_signed = false;
};

}  // namespace mg::kernels
