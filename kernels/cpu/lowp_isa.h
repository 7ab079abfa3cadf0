// The reduced-precision GEMMs as their instruction-set files export them (lowp_gemm_simd.h is
// the template; lowp_gemm_int8_avx512vnni.cpp and lowp_gemm_bf16_avx512bf16.cpp instantiate it).
// Plain function pointers only: the files compiled with VNNI / BF16 flags never instantiate the
// registry, fmt or std containers (see isa_kernels.h); lowp_gemm.cpp checks the arguments and
// the CPU, then calls these.
#pragma once

#include <cstdint>

#include "kernels/args/lowp.h"

namespace mg::kernels::cpu {

// Arguments already checked (check_lowp_gemm_args), m, n, k > 0.
void gemm_int8_avx512_vnni(const LowpGemmArgs& g, const void* a, const int8_t* b, void* c);
void gemm_bf16_avx512_bf16(const LowpGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c);

}  // namespace mg::kernels::cpu
