// The "avx2" kernels: every SIMD family on 8 float / 4 double lanes (isa_kernels.h).
#include "kernels/cpu/elementwise_simd.h"
#include "kernels/cpu/isa_simd.h"

namespace mg::kernels::cpu {

const IsaKernels& avx2_kernels() {
    static constexpr IsaKernels kKernels = simd::common_isa_kernels();
    return kKernels;
}

}  // namespace mg::kernels::cpu

// The elementwise ops with a vector form (kernels/elementwise_ops.h's simd column) and the
// sum of contiguous runs, registered by elementwise.cpp and reduce.cpp (kernels/cpu/elementwise_dense.h).
namespace mg::kernels {

MG_ELEMENTWISE_DENSE_LOOPS(Isa::avx2)

double sum_runs_avx2_f32(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return simd::Lanes<float>::sum_runs(x, n, runs, stride);
}
double sum_runs_avx2_f64(const void* x, int64_t n, int64_t runs, int64_t stride) {
    return simd::Lanes<double>::sum_runs(x, n, runs, stride);
}

}  // namespace mg::kernels
