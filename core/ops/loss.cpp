// Losses, composed from differentiable ops, except cross_entropy on the CPU: one fused
// kernel pass for the loss (kernels/softmax.h), one for the gradient.
#include "core/ops/dispatch.h"
#include "kernels/softmax.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

static Tensor reduce(const Tensor& per_element, Reduction r) {
    switch (r) {
        case Reduction::Mean: return mean(per_element);
        case Reduction::Sum: return sum(per_element);
        case Reduction::None: return per_element;
    }
    return per_element;
}

// [N, C, d1...] -> [N*d1*..., C]  (classes last, one row per prediction)
static Tensor classes_last(const Tensor& x) {
    if (x.dim() == 2) return x;
    std::vector<int64_t> order{0};
    for (int d = 2; d < x.dim(); ++d) order.push_back(d);
    order.push_back(1);
    return x.permute(order).reshape(Shape{-1, x.shape()[1]});
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
    check_floating("nll_loss", log_probs);
    check_defined("nll_loss", target, "target");
    MG_CHECK(target.dtype() == DType::Int64, "nll_loss: target must be int64 class indices, got {}", target.dtype());
    MG_CHECK(log_probs.dim() >= 2 && target.dim() == log_probs.dim() - 1,
             "nll_loss: input {} must be [N, C, ...] and target {} [N, ...]", log_probs.shape(), target.shape());
    for (int d = 0; d < target.dim(); ++d) {
        int xd = d == 0 ? 0 : d + 1;
        MG_CHECK(target.shape()[d] == log_probs.shape()[xd], "nll_loss: input {} and target {} disagree in size",
                 log_probs.shape(), target.shape());
    }
    Tensor rows = classes_last(log_probs);
    Tensor picked = gather_last(rows, target.reshape(Shape{-1, 1}));  // [M, 1]
    Tensor loss = (-picked).reshape(target.shape());
    return reduce(loss, reduction);
}

// The gradient of cross_entropy in differentiable ops, for a backward that must itself be
// differentiable: (softmax(x) - onehot(target)) * g, g broadcast per row.
static Tensor cross_entropy_backward_composite(const Tensor& g, const Tensor& logits, const Tensor& target,
                                               Reduction reduction) {
    Tensor onehot = one_hot(target, logits.shape()[1], logits.dtype());  // [N, d..., C]
    if (logits.dim() > 2) {
        std::vector<int64_t> order{0, logits.dim() - 1};
        for (int d = 1; d < logits.dim() - 1; ++d) order.push_back(d);
        onehot = onehot.permute(order);  // [N, C, d...]
    }
    Tensor g_rows = g;
    if (reduction == Reduction::Mean) g_rows = g / double(target.numel());
    if (reduction == Reduction::None) g_rows = g.unsqueeze(1);
    return (softmax(logits, 1) - onehot) * g_rows;
}

// loss per row = logsumexp(row) - row[target] in one kernel pass, which keeps logsumexp for
// the backward: gx = (e^(x - lse) - onehot) * g, again one pass.
static Tensor cross_entropy_fused(const Tensor& logits, const Tensor& target, Reduction reduction) {
    const Shape& s = logits.shape();
    K::SoftmaxShape shape;
    shape.outer = s[0];
    shape.classes = s[1];
    for (int d = 2; d < s.size(); ++d) shape.inner *= s[d];
    Tensor xc = logits.detach().contiguous();
    Tensor tc = target.contiguous();
    TensorOptions opt{logits.dtype(), logits.device()};
    Tensor loss_rows = empty(target.shape(), opt), lse = empty(target.shape(), opt);
    if (xc.numel() > 0)
        K::cross_entropy_forward_table().get(logits.device(), logits.dtype())(
            shape, xc.raw_data(), tc.data<int64_t>(), loss_rows.raw_data(), lse.raw_data());
    Tensor loss;
    {
        autograd::NoGradGuard no_grad;  // a fresh tensor without history, to record onto
        loss = reduce(loss_rows, reduction);
    }
    autograd::check_forward_anomaly("cross_entropy", loss);
    return autograd::record("cross_entropy", loss, {logits},
        [xc, tc, lse, shape, reduction](const Tensor& g, const Saved& s) -> Grads {
            Tensor x_ = s.input(0);
            if (autograd::grad_enabled()) return {cross_entropy_backward_composite(g, x_, tc, reduction)};
            Tensor gc = g.contiguous();
            Tensor gx = empty(x_.shape(), {x_.dtype(), x_.device()});
            const bool per_row = reduction == Reduction::None;
            const double scale = reduction == Reduction::Mean ? 1.0 / double(shape.rows()) : 1.0;
            if (gx.numel() > 0)
                K::cross_entropy_backward_table().get(x_.device(), x_.dtype())(
                    shape, xc.raw_data(), tc.data<int64_t>(), lse.raw_data(), gc.raw_data(), per_row ? 1 : 0, scale,
                    gx.raw_data());
            return {gx};
        });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_floating("cross_entropy", logits);
    MG_CHECK(logits.dim() >= 2, "cross_entropy: logits must be [N, C, ...], got {}", logits.shape());
    check_defined("cross_entropy", target, "target");
    MG_CHECK(target.dtype() == DType::Int64, "cross_entropy: target must be int64 class indices, got {}",
             target.dtype());
    bool rows_match = target.dim() == logits.dim() - 1;  // target [N, d...] for logits [N, C, d...]
    for (int d = 0; rows_match && d < target.dim(); ++d)
        rows_match = target.shape()[d] == logits.shape()[d == 0 ? 0 : d + 1];
    MG_CHECK(rows_match, "cross_entropy: logits {} must be [N, C, ...] and target {} [N, ...]", logits.shape(),
             target.shape());
    MG_CHECK(logits.shape()[1] > 0 || target.numel() == 0, "cross_entropy: logits {} have no classes for the targets",
             logits.shape());
    if (target.device() == logits.device() &&
        K::cross_entropy_forward_table().has_kernel(logits.device(), logits.dtype()))
        return cross_entropy_fused(logits, target, reduction);
    return nll_loss(log_softmax(logits, 1), target, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_floating("binary_cross_entropy_with_logits", logits);
    check_same_kind("binary_cross_entropy_with_logits", logits, target);
    MG_CHECK(logits.shape() == target.shape(), "binary_cross_entropy_with_logits: logits {} and target {} differ",
             logits.shape(), target.shape());
    // -[t ln s(x) + (1-t) ln(1-s(x))] = softplus(x) - t x, without overflow.
    return reduce(softplus(logits) - logits * target, reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check_floating("mse_loss", input);
    check_same_kind("mse_loss", input, target);
    MG_CHECK(input.shape() == target.shape(), "mse_loss: input {} and target {} differ", input.shape(),
             target.shape());
    return reduce(square(input - target), reduction);
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction) {
    check_floating("gaussian_kl", mu);
    check_same_kind("gaussian_kl", mu, logvar);
    MG_CHECK(mu.shape() == logvar.shape() && mu.dim() >= 1, "gaussian_kl: mu {} and logvar {} must match",
             mu.shape(), logvar.shape());
    Tensor terms = -0.5 * (1 + logvar - (square(mu) + exp(logvar)));
    if (mu.dim() == 1) return reduce(terms, reduction);
    std::vector<int64_t> dims;
    for (int d = 1; d < mu.dim(); ++d) dims.push_back(d);
    return reduce(sum(terms, dims), reduction);  // per-sample KL, then over the batch
}

}  // namespace mg
