// The sum of `runs` contiguous runs of n values, `stride` elements apart, in double: the sum
// reduction's vector loop (sum_runs of kernels/cpu/elementwise_simd.h, instantiated in
// isa_avx512.cpp / isa_avx2.cpp), shared by reduce.cpp and bias_act.cpp.
#pragma once

#include <cstdint>

namespace mg::kernels {

using RunSumFn = double(const void* x, int64_t n, int64_t runs, int64_t stride);
#if defined(__x86_64__)
RunSumFn sum_runs_avx512_f32, sum_runs_avx512_f64, sum_runs_avx2_f32, sum_runs_avx2_f64;
#endif

}  // namespace mg::kernels
