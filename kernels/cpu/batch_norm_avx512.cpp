// "avx512" batch norm: kernels/cpu/batch_norm_simd.h on 16 float (8 double) lanes;
// registered by batch_norm.cpp.
#include "kernels/cpu/batch_norm_simd.h"

namespace mg::kernels {

void batch_norm_forward_avx512_f32(const BatchNormForwardArgs& a) { simd::BatchNorm<simd::F32>::forward(a); }
void batch_norm_forward_avx512_f64(const BatchNormForwardArgs& a) { simd::BatchNorm<simd::F64>::forward(a); }
void batch_norm_backward_avx512_f32(const BatchNormBackwardArgs& a) { simd::BatchNorm<simd::F32>::backward(a); }
void batch_norm_backward_avx512_f64(const BatchNormBackwardArgs& a) { simd::BatchNorm<simd::F64>::backward(a); }

}  // namespace mg::kernels
