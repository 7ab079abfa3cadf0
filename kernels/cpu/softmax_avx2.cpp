// "avx2" softmax / log-softmax / cross-entropy: kernels/cpu/softmax_simd.h on 8 float
// (4 double) lanes; registered by softmax.cpp.
#include "kernels/cpu/softmax_simd.h"

namespace mg::kernels {

using Float = simd::Softmax<simd::F32>;
using Double = simd::Softmax<simd::F64>;

void softmax_forward_avx2_f32(const SoftmaxShape& s, const void* x, void* y, bool log) {
    Float::forward(s, static_cast<const float*>(x), static_cast<float*>(y), log);
}
void softmax_forward_avx2_f64(const SoftmaxShape& s, const void* x, void* y, bool log) {
    Double::forward(s, static_cast<const double*>(x), static_cast<double*>(y), log);
}
void softmax_backward_avx2_f32(const SoftmaxShape& s, const void* y, const void* gy, void* gx, bool log) {
    Float::backward(s, static_cast<const float*>(y), static_cast<const float*>(gy), static_cast<float*>(gx), log);
}
void softmax_backward_avx2_f64(const SoftmaxShape& s, const void* y, const void* gy, void* gx, bool log) {
    Double::backward(s, static_cast<const double*>(y), static_cast<const double*>(gy), static_cast<double*>(gx), log);
}
int64_t cross_entropy_forward_avx2_f32(const SoftmaxShape& s, const void* x, const int64_t* t, void* loss,
                                         void* lse) {
    return Float::xent_forward(s, static_cast<const float*>(x), t, static_cast<float*>(loss), static_cast<float*>(lse));
}
int64_t cross_entropy_forward_avx2_f64(const SoftmaxShape& s, const void* x, const int64_t* t, void* loss,
                                         void* lse) {
    return Double::xent_forward(s, static_cast<const double*>(x), t, static_cast<double*>(loss),
                                static_cast<double*>(lse));
}
int64_t cross_entropy_backward_avx2_f32(const SoftmaxShape& s, const void* x, const int64_t* t, const void* lse,
                                          const void* g, int64_t gs, double scale, void* gx) {
    return Float::xent_backward(s, static_cast<const float*>(x), t, static_cast<const float*>(lse),
                                static_cast<const float*>(g), gs, scale, static_cast<float*>(gx));
}
int64_t cross_entropy_backward_avx2_f64(const SoftmaxShape& s, const void* x, const int64_t* t, const void* lse,
                                          const void* g, int64_t gs, double scale, void* gx) {
    return Double::xent_backward(s, static_cast<const double*>(x), t, static_cast<const double*>(lse),
                                 static_cast<const double*>(g), gs, scale, static_cast<double*>(gx));
}

}  // namespace mg::kernels
