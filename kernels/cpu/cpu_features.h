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

}  // namespace mg::kernels::cpu
