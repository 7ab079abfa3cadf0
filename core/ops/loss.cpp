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

static void check_cross_entropy_args(const Tensor& logits, const Tensor& target) {
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
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_cross_entropy_args(logits, target);
    if (target.device() == logits.device() &&
        K::cross_entropy_forward_table().has_kernel(logits.device(), logits.dtype()))
        return cross_entropy_fused(logits, target, reduction);
    return nll_loss(log_softmax(logits, 1), target, reduction);
}

// The options' rows, read on the host: each target with the ignored ones replaced by class 0
// (the gather's index), and a 0/1 mask of the rows that count. Throws on a target that is
// neither in [0, C) nor ignore_index.
struct CrossEntropyRows {
    Tensor safe_target, valid;  // int64 [M], logits' dtype [M] (on the logits' device)
};
static CrossEntropyRows cross_entropy_rows(const Tensor& logits, const Tensor& target,
                                           const std::optional<int64_t>& ignore_index) {
    const int64_t C = logits.shape()[1];
    std::vector<int64_t> t = target.to(Device::CPU).contiguous().to_vector<int64_t>();
    std::vector<double> valid(t.size(), 1.0);
    int64_t bad = 0, first_bad = 0;
    for (size_t r = 0; r < t.size(); ++r) {
        if (ignore_index && t[r] == *ignore_index) {
            t[r] = 0;
            valid[r] = 0.0;
        } else if (t[r] < 0 || t[r] >= C) {
            if (bad++ == 0) first_bad = t[r];
        }
    }
    MG_CHECK(bad == 0, "cross_entropy: {} of {} targets out of range [0, {}) (the first: {}){}", bad, t.size(), C,
             first_bad, ignore_index ? fmt::format(" and not ignore_index {}", *ignore_index) : std::string());
    const Shape rows{int64_t(t.size())};
    return {from_vector(t, rows).to(logits.device()),
            from_vector(valid, rows).to(logits.dtype()).to(logits.device())};
}

// PyTorch's formula (aten's cross_entropy with label smoothing), per row r with target t:
//   nll = -w[t] log p[t],   smooth = -sum_c w[c] log p[c]   (w = 1 without weights; 0 if ignored)
//   loss = (1 - e) nll + (e / C) smooth;   Mean divides both sums by sum_r w[t_r] over the kept rows.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
    const bool defaults = !options.ignore_index && options.label_smoothing == 0.0 && !options.weight.defined();
    if (defaults) return cross_entropy(logits, target, options.reduction);
    check_cross_entropy_args(logits, target);
    const double e = options.label_smoothing;
    MG_CHECK(e >= 0.0 && e <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got {}", e);
    const int64_t C = logits.shape()[1];
    const Tensor& w = options.weight;
    if (w.defined()) {
        check_same_kind("cross_entropy", logits, w);
        MG_CHECK(w.shape() == Shape({C}), "cross_entropy: weight must be [C] = [{}] for logits {}, got {}", C,
                 logits.shape(), w.shape());
    }
    const CrossEntropyRows rows = cross_entropy_rows(logits, target, options.ignore_index);
    const int64_t M = rows.valid.numel();
    Tensor log_p = classes_last(log_softmax(logits, 1));  // [M, C]
    Tensor row_weight = w.defined() ? embedding(rows.safe_target, w.reshape(Shape{C, 1})).reshape(Shape{M}) * rows.valid
                                    : rows.valid;
    Tensor loss = -gather_last(log_p, rows.safe_target.reshape(Shape{M, 1})).reshape(Shape{M}) * row_weight;
    if (e > 0.0) {
        Tensor smooth = -sum(w.defined() ? log_p * w : log_p, {1}) * rows.valid;
        loss = (1.0 - e) * loss + (e / double(C)) * smooth;
    }
    switch (options.reduction) {
        case Reduction::None: return loss.reshape(target.shape());
        case Reduction::Sum: return sum(loss);
        case Reduction::Mean: break;
    }
    Tensor total_weight = sum(row_weight);
    MG_CHECK(total_weight.item() != 0.0,
             "cross_entropy: the mean over {} targets has no weight (all ignored, or of weight 0): PyTorch would "
             "return NaN; use Reduction::Sum",
             M);
    return sum(loss) / total_weight;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
    check_floating("binary_cross_entropy_with_logits", logits);
    check_same_kind("binary_cross_entropy_with_logits", logits, target);
    MG_CHECK(logits.shape() == target.shape(), "binary_cross_entropy_with_logits: logits {} and target {} differ",
             logits.shape(), target.shape());
    // -[t ln s(x) + (1-t) ln(1-s(x))] = softplus(x) - t x, without overflow.
    return reduce(softplus(logits) - logits * target, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& pos_weight,
                                        Reduction reduction) {
    if (!pos_weight.defined()) return binary_cross_entropy_with_logits(logits, target, reduction);
    const char* op = "binary_cross_entropy_with_logits";
    check_floating(op, logits);
    check_same_kind(op, logits, target);
    check_same_kind(op, logits, pos_weight);
    MG_CHECK(logits.shape() == target.shape(), "{}: logits {} and target {} differ", op, logits.shape(),
             target.shape());
    bool broadcasts = pos_weight.dim() <= logits.dim();
    for (int d = 1; broadcasts && d <= pos_weight.dim(); ++d) {
        const int64_t p = pos_weight.shape()[pos_weight.dim() - d], x = logits.shape()[logits.dim() - d];
        broadcasts = p == 1 || p == x;
    }
    MG_CHECK(broadcasts, "{}: pos_weight {} does not broadcast to the logits {}", op, pos_weight.shape(),
             logits.shape());
    // ln(1 - s(x)) = -softplus(x) and -ln s(x) = softplus(-x): PyTorch's stable form.
    return reduce((1.0 - target) * logits + (1.0 + (pos_weight - 1.0) * target) * softplus(-logits), reduction);
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
