#include "optim/clip.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::optim {

// The p-norm of one gradient, computed in its dtype (as PyTorch does) and returned as double.
static double grad_norm(const Tensor& g, double p) {
    if (g.numel() == 0) return 0.0;
    if (std::isinf(p)) return amax(abs(g)).item();
    if (p == 2.0) return norm(g).item();
    if (p == 1.0) return sum(abs(g)).item();
    return pow(sum(pow(abs(g), p)), 1.0 / p).item();
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
    MG_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be > 0 (or INFINITY), got {}", norm_type);
    MG_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> grads;
    for (const Tensor& p : params)
        if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return 0.0;

    // Combine the per-tensor norms as the norm of their vector (PyTorch's two-level scheme).
    double total = 0.0;
    for (const Tensor& g : grads) {
        double n = grad_norm(g, norm_type);
        if (std::isinf(norm_type)) total = std::isnan(n) || n > total ? n : total;
        else total += std::pow(n, norm_type);
    }
    if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
    MG_CHECK(!error_if_nonfinite || std::isfinite(total),
             "clip_grad_norm_: the total {}-norm of {} gradients is {}; with error_if_nonfinite=false it would "
             "scale them anyway", norm_type, grads.size(), total);

    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0)
        for (Tensor& g : grads) g.mul_(coef);
    return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
    MG_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
    autograd::NoGradGuard no_grad;
    for (const Tensor& p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        Tensor g = p.grad();
        g.copy_(clamp(g, -clip_value, clip_value));
    }
}

}  // namespace mg::optim
