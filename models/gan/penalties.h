// The gradient penalties of the GAN family: both differentiate D's output with respect
// to its input, and keep that gradient's graph (create_graph) so that the penalty's own
// gradient with respect to D's weights is a second-order one.
//
//   WGAN-GP (Gulrajani et al. 2017):  E[(||grad_xhat D(xhat)||_2 - 1)^2],
//                                     xhat = e*real + (1-e)*fake, e ~ U(0, 1) per sample
//   R1 (Mescheder et al. 2018):       E[||grad_x D(x)||^2] on real x
//
// The weights (lambda, gamma/2) are the caller's. The WGAN-GP penalty can be made with one
// of its classic mistakes (models/bugs.h): gp-channel-norm (the norm per pixel, over channels
// only), gp-pixel-mix (e [B, ...] like real: a coefficient per pixel), gp-on-sigmoid (the
// gradient of sigmoid(D)). mean_grad_norm is always the per-sample norm of the logit's
// gradient, the quantity the penalty should hold at 1, so a monitor can see the mistake.
#pragma once

#include <functional>

#include "core/tensor.h"
#include "models/bugs.h"

namespace mg::models {

// A critic as a function of its input: x [B, ...] -> scores [B', 1] (B' = B / pack).
using Critic = std::function<Tensor(const Tensor&)>;

struct PenaltyResult {
    Tensor penalty;              // 0-d, differentiable in D's weights
    double mean_grad_norm = 0;   // mean ||grad D|| over the batch, for the report
};

// real, fake [B, ...]; e [B] in [0, 1] ([B, ...] like real with Bug::GpPixelMix). fake is
// detached (the penalty trains D only).
PenaltyResult gradient_penalty(const Critic& critic, const Tensor& real, const Tensor& fake, const Tensor& e,
                               Bug bug = Bug::None);
// real [B, ...].
PenaltyResult r1_penalty(const Critic& critic, const Tensor& real);

}  // namespace mg::models
