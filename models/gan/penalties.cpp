#include "models/gan/penalties.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::models {

namespace {

// grad_x sum(D(x)) -> per-sample squared norms [B], with the gradient's graph kept.
Tensor input_grad_sq_norms(const Critic& critic, const Tensor& x) {
    Tensor d = critic(x);
    // create_graph: the penalty's gradient with respect to D's weights runs through this gradient.
    Tensor g = autograd::grad({sum(d)}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    return sum(square(g.flatten(1)), {1});
}

// The WGAN-GP penalty as its bugs make it (models/bugs.h); the correct one is below.
PenaltyResult buggy_gradient_penalty(const Critic& critic, const Tensor& xhat, Bug bug) {
    Tensor d = critic(xhat);
    Tensor s = bug == Bug::GpOnSigmoid ? sigmoid(d) : d;
    Tensor g = autograd::grad({sum(s)}, {xhat}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
    // gp-channel-norm: one norm per pixel, over dim 1 (the channels) only.
    Tensor sq = bug == Bug::GpChannelNorm ? sum(square(g), {1}) : sum(square(g.flatten(1)), {1});
    Tensor norms = sqrt(sq + 1e-12);
    PenaltyResult r;
    r.penalty = mean(square(norms - 1.0));
    autograd::NoGradGuard no_grad;
    Tensor logit_norms = sqrt(sum(square(g.flatten(1)), {1}) + 1e-12);
    if (bug == Bug::GpOnSigmoid) {  // d sigmoid(l) = sigmoid'(l) d l
        Tensor p = sigmoid(d).flatten();
        logit_norms = logit_norms / (p * (1.0 - p) + 1e-12);
    }
    r.mean_grad_norm = mean(logit_norms).item();
    return r;
}

}  // namespace

PenaltyResult gradient_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& e,
                               Bug bug) {
    MG_CHECK(real.shape() == fake.shape(), "gradient_penalty: real {} and fake {} differ", real.shape(), fake.shape());
    Tensor w;  // xhat's mixing weights, broadcast over each sample (per pixel with gp-pixel-mix)
    if (bug == Bug::GpPixelMix) {
        MG_CHECK(e.shape() == real.shape(), "gradient_penalty: e must be {} (a coefficient per pixel), got {}",
                 real.shape(), e.shape());
        w = e.to(real.dtype());
    } else {
        MG_CHECK(e.dim() == 1 && e.size(0) == real.size(0), "gradient_penalty: e must be [{}], got {}", real.size(0),
                 e.shape());
        Shape e_shape = Shape::filled(real.dim(), 1);
        e_shape[0] = real.size(0);
        w = e.to(real.dtype()).reshape(e_shape);
    }
    Tensor xhat = (w * real.detach() + (1 - w) * fake.detach()).detach().requires_grad_();
    if (bug == Bug::GpChannelNorm || bug == Bug::GpOnSigmoid) return buggy_gradient_penalty(critic, xhat, bug);
    // sqrt(. + 1e-12): the norm's derivative stays finite where the gradient vanishes.
    Tensor norms = sqrt(input_grad_sq_norms(critic, xhat) + 1e-12);
    PenaltyResult r;
    r.penalty = mean(square(norms - 1.0));
    autograd::NoGradGuard no_grad;
    r.mean_grad_norm = mean(norms).item();
    return r;
}

PenaltyResult r1_penalty(const Critic& critic, const Tensor& real) {
    Tensor x = real.detach().requires_grad_();
    Tensor sq = input_grad_sq_norms(critic, x);
    PenaltyResult r;
    r.penalty = mean(sq);
    autograd::NoGradGuard no_grad;
    r.mean_grad_norm = mean(sqrt(sq)).item();
    return r;
}

}  // namespace mg::models
