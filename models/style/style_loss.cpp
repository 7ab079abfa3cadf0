#include "models/style/style_loss.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/gram.h"

namespace mg::style {

Tensor total_variation(const Tensor& images) {
    MG_CHECK(images.dim() == 4 && images.size(2) >= 2 && images.size(3) >= 2,
             "total_variation: expected images [N, C, H, W] of at least 2x2, got {}", images.shape());
    const int64_t h = images.size(2), w = images.size(3);
    Tensor down = sub(images.slice(2, 1, h), images.slice(2, 0, h - 1));
    Tensor right = sub(images.slice(3, 1, w), images.slice(3, 0, w - 1));
    return add(mean(square(down)), mean(square(right)));
}

Tensor fit_channels(const Tensor& images, int64_t channels) {
    MG_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
             "style: expected images [N, 1 or 3, H, W], got {}", images.shape());
    if (images.size(1) == channels) return images;
    if (channels == 3) return images.expand({images.size(0), 3, images.size(2), images.size(3)}).contiguous();
    // Pillow's convert("L") weights, as the image decoder's grey uses.
    return add(add(mul(images.slice(1, 0, 1), 0.299), mul(images.slice(1, 1, 2), 0.587)),
               mul(images.slice(1, 2, 3), 0.114));
}

StyleLoss::StyleLoss(const FeatureNetwork& features, const Tensor& style_image, StyleWeights weights)
    : features_(features), weights_(weights) {
    MG_CHECK(style_image.dim() == 4 && style_image.size(0) == 1,
             "style loss: expected one style image [1, C, H, W], got {}", style_image.shape());
    MG_CHECK(weights.content >= 0 && weights.style >= 0 && weights.tv >= 0,
             "style loss: weights must be >= 0 (content {}, style {}, tv {})", weights.content, weights.style,
             weights.tv);
    autograd::NoGradGuard no_grad;
    for (const Tensor& a : features_.activations(fit_channels(style_image, features_.channels()))) {
        style_grams_.push_back(gram_matrix(a));
        style_scales_.push_back(1.0 / std::max(mean(square(style_grams_.back())).item(), 1e-30));
    }
}

Tensor StyleLoss::content_target(const Tensor& content_images) const {
    autograd::NoGradGuard no_grad;
    Tensor x = fit_channels(content_images, features_.channels());
    return features_.activations(x)[size_t(features_.content_layer())].detach();
}

StyleTerms StyleLoss::operator()(const Tensor& images, const Tensor& content_target) const {
    const std::vector<Tensor> acts = features_.activations(images);
    StyleTerms t;
    // Relative to the target's mean square: the same weights suit every network and layer.
    t.content = div(mse_loss(acts[size_t(features_.content_layer())], content_target),
                    std::max(mean(square(content_target)).item(), 1e-30));
    Tensor style;
    for (size_t l = 0; l < acts.size(); ++l) {
        Tensor gram = gram_matrix(acts[l]);
        Tensor layer = mul(mse_loss(gram, style_grams_[l].expand(gram.shape())), style_scales_[l]);
        style = style.defined() ? add(style, layer) : layer;
    }
    t.style = div(style, double(acts.size()));
    t.tv = total_variation(images);
    t.total = add(add(mul(t.content, weights_.content), mul(t.style, weights_.style)), mul(t.tv, weights_.tv));
    return t;
}

}  // namespace mg::style
