// The shape of the fused causal attention kernels (kernels/attention.h), plain for nvcc:
// q, k, v and the output are dense [batch, heads, seq, head_dim]; the per-row logsumexp is
// dense [batch, heads, seq].
#pragma once

#include <cstdint>

namespace mg::kernels {

struct AttentionShape {
    int64_t batch = 1, heads = 1, seq = 1, head_dim = 1;  // B, H, T, D
    double scale = 1.0;                                   // scores = scale * q·k (1/sqrt(D) by default)
    int64_t rows() const { return batch * heads * seq; }
    // Query-key pairs that the causal mask keeps: row t attends to keys 0..t.
    double pairs() const { return double(batch * heads) * double(seq) * double(seq + 1) / 2; }
};

}  // namespace mg::kernels
