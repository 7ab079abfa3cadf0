// The arguments of the GEMM kernels (kernels/gemm.h), plain for nvcc:
// C = alpha * op(A) · op(B) + beta * C, row-major, batched.
#pragma once

#include <cstdint>

namespace mg::kernels {

struct GemmArgs {
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    int64_t lda = 0, ldb = 0, ldc = 0;
    int64_t batch = 1;
    int64_t stride_a = 0, stride_b = 0, stride_c = 0;
    double alpha = 1.0, beta = 0.0;
};

}  // namespace mg::kernels
