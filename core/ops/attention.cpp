// causal_attention: one autograd node over the fused kernels (kernels/attention.h).
//
// Forward runs the attention_forward kernel, which also returns the per-row logsumexp; the
// node keeps q, k, v, the output and that logsumexp. Backward, with grad mode off (a plain
// backward), is the attention_backward kernel; with grad mode on (create_graph) the same
// gradient is written with differentiable ops on q, k, v (the probabilities recomputed with
// a masked softmax), so gradients of gradients work. Both forms are O(T) in memory except
// that second-order one, which holds [B, H, T, T] like the composed op.
#include <cmath>
#include <limits>

#include "core/ops/attention.h"
#include "core/ops/dispatch.h"
#include "kernels/attention.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

namespace {

constexpr const char* kOp = "causal_attention";

void check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
    check_floating(kOp, q);
    check_same_kind(kOp, q, k);
    check_same_kind(kOp, q, v);
    MG_CHECK(q.dim() == 4 && k.shape() == q.shape() && v.shape() == q.shape(),
             "{}: q, k and v must be [B, H, T, D] of one shape, got q {}, k {}, v {}", kOp, q.shape(), k.shape(),
             v.shape());
    MG_CHECK(std::isfinite(scale), "{}: scale must be finite, got {}", kOp, scale);
}

// [T, T] uint8: key j is visible from query t when j <= t.
Tensor causal_mask(int64_t T, Device device) {
    Tensor pos = arange(0, double(T), 1.0, {DType::Float32, device});
    return ge(pos.view({T, 1}), pos.view({1, T}));
}

// softmax(scale q k^T) with the causal mask, [..., T, T]: the composed op's probabilities.
Tensor causal_probabilities(const Tensor& q, const Tensor& k, double scale) {
    const int64_t T = q.shape()[q.dim() - 2];
    Tensor scores = matmul(q, k.transpose(-2, -1)) * scale;
    return softmax(where(causal_mask(T, q.device()), scores, -std::numeric_limits<double>::infinity()), -1);
}

// grad_q, grad_k, grad_v from grad_out g, written with differentiable ops (FlashAttention-2's
// formulas of kernels/attention.h, the row term as sum(dp * p), which equals g·out).
Grads composed_gradients(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
    Tensor p = causal_probabilities(q, k, scale);
    Tensor dp = matmul(g, v.transpose(-2, -1));
    Tensor ds = p * (dp - sum(dp * p, {-1}, true));
    return {matmul(ds, k) * scale, matmul(ds.transpose(-2, -1), q) * scale, matmul(p.transpose(-2, -1), g)};
}

K::AttentionShape attention_shape(const Shape& s, double scale) {
    return {s[0], s[1], s[2], s[3], scale};
}

}  // namespace

Tensor causal_attention_composed(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
    check_attention_args(q, k, v, scale);
    return matmul(causal_probabilities(q, k, scale), v);
}

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v) {
    check_defined(kOp, q, "q");
    const int64_t D = q.dim() == 4 ? q.shape()[3] : 1;
    return causal_attention(q, k, v, D > 0 ? 1.0 / std::sqrt(double(D)) : 1.0);
}

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
    check_attention_args(q, k, v, scale);
    if (!K::attention_forward_table().has_kernel(q.device(), q.dtype())) return causal_attention_composed(q, k, v, scale);
    const K::AttentionShape shape = attention_shape(q.shape(), scale);
    const TensorOptions opt{q.dtype(), q.device()};
    Tensor out = empty(q.shape(), opt);
    Tensor lse = empty({shape.batch, shape.heads, shape.seq}, opt);
    if (out.numel() > 0) {
        Tensor qc = q.detach().contiguous(), kc = k.detach().contiguous(), vc = v.detach().contiguous();
        K::attention_forward_table().get(q.device(), q.dtype())(shape, qc.raw_data(), kc.raw_data(), vc.raw_data(),
                                                                 out.raw_data(), lse.raw_data());
    }
    autograd::check_forward_anomaly(kOp, out);
    return autograd::record(kOp, out, {q, k, v}, [shape, lse](const Tensor& g, const Saved& s) -> Grads {
        Tensor q_ = s.input(0), k_ = s.input(1), v_ = s.input(2);
        if (autograd::grad_enabled()) return composed_gradients(g, q_, k_, v_, shape.scale);
        const TensorOptions opt{q_.dtype(), q_.device()};
        Tensor gq = empty(q_.shape(), opt), gk = empty(q_.shape(), opt), gv = empty(q_.shape(), opt);
        if (gq.numel() > 0) {
            Tensor qc = q_.contiguous(), kc = k_.contiguous(), vc = v_.contiguous(), out = s.output().contiguous();
            Tensor gc = g.contiguous();
            K::attention_backward_table().get(q_.device(), q_.dtype())(
                shape, qc.raw_data(), kc.raw_data(), vc.raw_data(), out.raw_data(), lse.raw_data(), gc.raw_data(),
                gq.raw_data(), gk.raw_data(), gv.raw_data());
        }
        return {gq, gk, gv};
    }, Keep::InputsAndOutput);
}

}  // namespace mg
