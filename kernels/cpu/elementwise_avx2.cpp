// "avx2" dense loops of the elementwise ops with a vector form (kernels/elementwise_ops.h's
// simd column) and the sum of contiguous runs: kernels/cpu/elementwise_simd.h on 8 float (4 double)
// lanes; registered by elementwise.cpp and reduce.cpp, which keep strided operands on "omp".
#include "kernels/cpu/elementwise_simd.h"

namespace mg::kernels {

MG_ELEMENTWISE_DENSE_LOOPS(Isa::avx2)

double sum_runs_avx2_f32(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return simd::Lanes<float>::sum_runs(x, n, runs, stride);
}
double sum_runs_avx2_f64(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return simd::Lanes<double>::sum_runs(x, n, runs, stride);
}

}  // namespace mg::kernels
