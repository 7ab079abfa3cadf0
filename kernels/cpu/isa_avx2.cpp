// The "avx2" kernels: every SIMD family on 8 float / 4 double lanes (isa_kernels.h).
#include "kernels/cpu/elementwise_simd.h"
#include "kernels/cpu/isa_simd.h"

namespace mg::kernels::cpu {

const IsaKernels& avx2_kernels() {
    static constexpr IsaKernels kKernels = simd::common_isa_kernels();
    return kKernels;
}

}  // namespace mg::kernels::cpu

MG_DENSE_KERNELS_FOR(avx2)
