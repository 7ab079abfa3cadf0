// Gatys et al. (2016), "Image Style Transfer Using Convolutional Neural Networks": the picture
// itself is the parameter. Starting from the content image, Adam moves its pixels down the
// gradient of StyleLoss (models/style/style_loss.h), clamping them to [0, 1] after every step.
// Each stylisation is a whole optimisation (hundreds of forward and backward passes); the
// fast-style model (models/style/fast_style.h) learns to do it in one forward pass.
#pragma once

#include <functional>

#include "models/style/style_loss.h"

namespace mg::style {

struct GatysOptions {
    int64_t steps = 300;
    double lr = 0.02;  // Adam's step, in pixel units of [0, 1]
    StyleWeights weights;
};

// Called after each step with the step (1-based) and that step's loss terms (before its update).
using GatysStepHook = std::function<void(int64_t step, const StyleTerms& terms)>;

// content [1, C, H, W], style [1, C, H', W'], float in [0, 1] with the network's channels ->
// the stylised image [1, C, H, W] in [0, 1].
Tensor gatys_stylize(const FeatureNetwork& features, const Tensor& content, const Tensor& style,
                     const GatysOptions& options, const GatysStepHook& on_step = {});

}  // namespace mg::style
