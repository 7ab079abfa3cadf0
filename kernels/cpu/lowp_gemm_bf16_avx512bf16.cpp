// The bf16 GEMM on AVX512-BF16 (lowp_gemm_simd.h): compiled with -mavx512bf16, called only
// where lowp_features() says the CPU has it.
#include "kernels/cpu/lowp_gemm_simd.h"
#include "kernels/cpu/lowp_isa.h"

namespace mg::kernels::cpu {

void gemm_bf16_avx512_bf16(const LowpGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c) {
    lowp_simd::gemm<lowp_simd::Bf16>(g, a, b, c);
}

}  // namespace mg::kernels::cpu
