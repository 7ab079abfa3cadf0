// GEMM kernels: C = alpha * op(A) · op(B) + beta * C, row-major, batched.
//
//   op(A): M x K   (A stored M x K, or K x M when trans_a)
//   op(B): K x N   (B stored K x N, or N x K when trans_b)
//   C:     M x N
// Leading dimensions are in elements; batch i uses A + i*stride_a, B + i*stride_b,
// C + i*stride_c. beta == 0 means C is write-only (it may hold NaN garbage).
// Backward needs every transpose case: dA = dC · B^T, dB = A^T · dC.
#pragma once

#include "kernels/args/gemm.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

// a, b, c point to float or double, as the table's dtype says.
using GemmFn = void(const GemmArgs& args, const void* a, const void* b, void* c);
template <> struct KernelCost<GemmFn> {
    static Cost of(DType t, const GemmArgs& g, const void*, const void*, void*) { return gemm_cost(g, t); }
};
MG_KERNEL_TABLE(gemm, GemmFn)

}  // namespace mg::kernels
