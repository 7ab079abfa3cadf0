// Causal multi-head attention (core/ops/attention.cpp), included by core/ops.h.
#pragma once

#include "core/tensor.h"

namespace mg {

// softmax(scale * q k^T, causal) v per head: q, k, v [B, H, T, D] (float32 or float64, one
// device) -> [B, H, T, D], output row t attending to keys 0..t. One fused node: the kernels
// (kernels/attention.h) never hold the [T, T] scores; backward recomputes them tile by tile.
// scale defaults to 1/sqrt(D).
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v);
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

// The same value composed of matmul, a masked softmax and matmul: materialises [B, H, T, T].
// What the fused op is checked against, and what it runs where no kernel is registered.
Tensor causal_attention_composed(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

}  // namespace mg
