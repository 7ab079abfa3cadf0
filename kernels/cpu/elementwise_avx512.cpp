// "avx512" dense loops of exp, sigmoid, tanh, leaky_relu (and its backward) and the sum
// of a contiguous run: kernels/cpu/elementwise_simd.h on 16 float (8 double) lanes;
// registered by elementwise.cpp and reduce.cpp, which keep strided operands on "omp".
#include "kernels/cpu/elementwise_simd.h"

namespace mg::kernels {

using Float = simd::Dense<simd::F32>;
using Double = simd::Dense<simd::F64>;

void exp_dense_avx512_f32(int64_t n, void* y, const void* x, Scalars s) { Float::exp(n, y, x, s); }
void exp_dense_avx512_f64(int64_t n, void* y, const void* x, Scalars s) { Double::exp(n, y, x, s); }
void sigmoid_dense_avx512_f32(int64_t n, void* y, const void* x, Scalars s) { Float::sigmoid(n, y, x, s); }
void sigmoid_dense_avx512_f64(int64_t n, void* y, const void* x, Scalars s) { Double::sigmoid(n, y, x, s); }
void tanh_dense_avx512_f32(int64_t n, void* y, const void* x, Scalars s) { Float::tanh(n, y, x, s); }
void softplus_dense_avx512_f32(int64_t n, void* y, const void* x, Scalars s) { Float::softplus(n, y, x, s); }
void leaky_relu_dense_avx512_f32(int64_t n, void* y, const void* x, Scalars s) { Float::leaky_relu(n, y, x, s); }
void leaky_relu_dense_avx512_f64(int64_t n, void* y, const void* x, Scalars s) { Double::leaky_relu(n, y, x, s); }
void leaky_relu_backward_dense_avx512_f32(int64_t n, void* gx, const void* x, const void* g, Scalars s) {
    Float::leaky_relu_backward(n, gx, x, g, s);
}
void leaky_relu_backward_dense_avx512_f64(int64_t n, void* gx, const void* x, const void* g, Scalars s) {
    Double::leaky_relu_backward(n, gx, x, g, s);
}
double sum_runs_avx512_f32(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return Float::sum_runs(x, n, runs, stride);
}
double sum_runs_avx512_f64(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return Double::sum_runs(x, n, runs, stride);
}

}  // namespace mg::kernels
