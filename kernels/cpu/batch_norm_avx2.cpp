// "avx2" batch norm: kernels/cpu/batch_norm_simd.h on 8 float (4 double) lanes;
// registered by batch_norm.cpp.
#include "kernels/cpu/batch_norm_simd.h"

namespace mg::kernels {

void batch_norm_forward_avx2_f32(const BatchNormForwardArgs& a) { simd::BatchNorm<simd::F32>::forward(a); }
void batch_norm_forward_avx2_f64(const BatchNormForwardArgs& a) { simd::BatchNorm<simd::F64>::forward(a); }
void batch_norm_backward_avx2_f32(const BatchNormBackwardArgs& a) { simd::BatchNorm<simd::F32>::backward(a); }
void batch_norm_backward_avx2_f64(const BatchNormBackwardArgs& a) { simd::BatchNorm<simd::F64>::backward(a); }

}  // namespace mg::kernels
