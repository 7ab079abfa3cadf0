// Causal multi-head attention, fused: out = softmax(scale * q k^T + causal mask) v per head,
// without the [T, T] matrix of scores in memory.
//
// Shapes: q, k, v, out [B, H, T, D] dense; lse [B, H, T]. Row t of a head attends to keys
// 0..t. With s_tj = scale * q_t·k_j (j <= t):
//   forward   lse_t = ln sum_j e^(s_tj)          out_t = sum_j e^(s_tj - lse_t) v_j
//   backward  p_tj = e^(s_tj - lse_t)  (recomputed from q, k and the forward's lse)
//             D_t = dout_t·out_t       dp_tj = dout_t·v_j      ds_tj = p_tj (dp_tj - D_t)
//             dv_j = sum_t p_tj dout_t   dq_t = scale sum_j ds_tj k_j   dk_j = scale sum_t ds_tj q_t
// (FlashAttention-2's formulation: D_t replaces the row sum of dp * p.)
//
// Variants: "reference" (kernels/cpu/attention.cpp: plain loops in double, one T-long row of
// scores at a time), "flash_avx2" / "flash_avx512" (kernels/cpu/attention_simd.h: tiles of
// queries and keys, online softmax, SIMD register tiles, fully masked key tiles skipped).
// Every output element is summed in one fixed order, whatever the thread count.
#pragma once

#include "kernels/args/attention.h"
#include "kernels/args/dtype.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

using AttentionForwardFn = void(const AttentionShape& s, const void* q, const void* k, const void* v, void* out,
                                void* lse);
// grad_q, grad_k, grad_v [B, H, T, D] from grad_out and the forward's out and lse.
using AttentionBackwardFn = void(const AttentionShape& s, const void* q, const void* k, const void* v,
                                 const void* out, const void* lse, const void* grad_out, void* grad_q,
                                 void* grad_k, void* grad_v);

// Per kept pair: forward the score (2D), the exp and running max and sum (4), the product with
// v (2D); backward the score (2D + 2), dp (2D), ds (2), and dv, dq, dk (2D each).
template <> struct KernelCost<AttentionForwardFn> {
    static Cost of(DType t, const AttentionShape& s, const void*, const void*, const void*, void*, void*) {
        const double elems = double(s.rows()) * double(s.head_dim);
        return {s.pairs() * double(4 * s.head_dim + 4), (4 * elems + double(s.rows())) * double(dtype_size(t))};
    }
};
template <> struct KernelCost<AttentionBackwardFn> {
    static Cost of(DType t, const AttentionShape& s, const void*, const void*, const void*, const void*,
                   const void*, const void*, void*, void*, void*) {
        const double elems = double(s.rows()) * double(s.head_dim);
        return {s.pairs() * double(10 * s.head_dim + 4), (8 * elems + double(s.rows())) * double(dtype_size(t))};
    }
};
MG_KERNEL_TABLE(attention_forward, AttentionForwardFn)
MG_KERNEL_TABLE(attention_backward, AttentionBackwardFn)

}  // namespace mg::kernels
