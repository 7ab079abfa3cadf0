// Losses, composed from differentiable ops.
#include "core/ops/dispatch.h"

namespace mg {

using namespace ops_detail;

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
    Tensor loss = neg(picked).reshape(target.shape());
    return reduce(loss, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_floating("cross_entropy", logits);
    MG_CHECK(logits.dim() >= 2, "cross_entropy: logits must be [N, C, ...], got {}", logits.shape());
    return nll_loss(log_softmax(logits, 1), target, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_floating("binary_cross_entropy_with_logits", logits);
    check_same_kind("binary_cross_entropy_with_logits", logits, target);
    MG_CHECK(logits.shape() == target.shape(), "binary_cross_entropy_with_logits: logits {} and target {} differ",
             logits.shape(), target.shape());
    // -[t ln s(x) + (1-t) ln(1-s(x))] = softplus(x) - t x, without overflow.
    return reduce(sub(softplus(logits), mul(logits, target)), reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check_floating("mse_loss", input);
    check_same_kind("mse_loss", input, target);
    MG_CHECK(input.shape() == target.shape(), "mse_loss: input {} and target {} differ", input.shape(),
             target.shape());
    return reduce(square(sub(input, target)), reduction);
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction) {
    check_floating("gaussian_kl", mu);
    check_same_kind("gaussian_kl", mu, logvar);
    MG_CHECK(mu.shape() == logvar.shape() && mu.dim() >= 1, "gaussian_kl: mu {} and logvar {} must match",
             mu.shape(), logvar.shape());
    Tensor terms = mul(sub(add(logvar, 1.0), add(square(mu), exp(logvar))), -0.5);
    if (mu.dim() == 1) return reduce(terms, reduction);
    std::vector<int64_t> dims;
    for (int d = 1; d < mu.dim(); ++d) dims.push_back(d);
    return reduce(sum(terms, dims), reduction);  // per-sample KL, then over the batch
}

}  // namespace mg
