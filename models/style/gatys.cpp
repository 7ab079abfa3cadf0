#include "models/style/gatys.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "optim/adam.h"

namespace mg::style {

Tensor gatys_stylize(const FeatureNetwork& features, const Tensor& content, const Tensor& style,
                     const GatysOptions& options, const GatysStepHook& on_step) {
    MG_CHECK(options.steps >= 0, "stylize: steps {} must be >= 0", options.steps);
    MG_CHECK(options.lr > 0, "stylize: learning rate {} must be positive", options.lr);
    const StyleLoss loss(features, style, options.weights);
    const Tensor target = loss.content_target(content);
    Tensor image = content.to(DType::Float32).clone().detach();
    image.requires_grad_(true);
    optim::AdamOptions adam;
    adam.lr = options.lr;
    optim::Adam optimizer({image}, adam);
    for (int64_t step = 1; step <= options.steps; ++step) {
        optimizer.zero_grad();
        StyleTerms terms = loss(image, target);
        terms.total.backward();
        optimizer.step();
        {
            autograd::NoGradGuard no_grad;
            image.copy_(clamp(image, 0.0, 1.0));  // the picture must stay a picture
        }
        if (on_step) on_step(step, terms);
    }
    return image.detach();
}

}  // namespace mg::style
