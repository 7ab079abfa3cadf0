// Runtime CPU feature detection: which SIMD variants this machine can run.
// One build runs on any x86-64; registration asks these before adding an
// AVX2 or AVX-512 variant, so a missing instruction set never faults.
#pragma once

#include <string>

namespace mg::kernels::cpu {

// AVX2 and FMA3 both present (and enabled by the OS): the *_avx2.cpp files.
bool has_avx2_fma();
// AVX-512 F, BW, DQ and VL all present (and enabled by the OS), plus AVX2/FMA:
// what the *_avx512.cpp files are compiled for.
bool has_avx512();
// The SIMD features present, space-separated, e.g. "sse4.2 avx avx2 fma avx512f ...";
// for `minigen info`. "none" on a CPU without any of them.
std::string cpu_feature_string();

// The reduced-precision instruction sets (kernels/lowp.h): each set in CPUID and its registers
// enabled by the OS (XCR0 via XGETBV). The AMX ones also need Linux to grant the tile data
// state (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), asked once on the first call.
struct LowpFeatures {
    bool avx512_vnni = false;  // vpdpbusd on zmm (with AVX-512 F/BW/DQ/VL)
    bool avx_vnni = false;     // the VEX form on ymm
    bool avx512_bf16 = false;  // vdpbf16ps, vcvtne2ps2bf16 (with AVX-512 F/BW/DQ/VL)
    bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
    bool amx_in_cpuid = false;  // the CPU has AMX, whether or not the OS lets this process use it
};
const LowpFeatures& lowp_features();
// Tests: make lowp_features() answer `fake` (null: the real CPU again). The variants were
// registered at init; what changes is the check each one makes when called.
void set_lowp_features_for_test(const LowpFeatures* fake);
// "avx512_vnni avx512_bf16 ..." (the names above that are true), "none" if none; AMX present
// in CPUID but refused by the OS reads "amx (no OS permission)".
std::string lowp_feature_string();

}  // namespace mg::kernels::cpu
