// The int8 GEMM on AVX-512 VNNI (lowp_gemm_simd.h): compiled with -mavx512vnni, called only
// where lowp_features() says the CPU has it.
#include "kernels/cpu/lowp_gemm_simd.h"
#include "kernels/cpu/lowp_isa.h"

namespace mg::kernels::cpu {

void gemm_int8_avx512_vnni(const LowpGemmArgs& g, const void* a, const int8_t* b, void* c) {
    lowp_simd::gemm<lowp_simd::Int8>(g, static_cast<const uint8_t*>(a), b, c);
}

}  // namespace mg::kernels::cpu
