// Style transfer's losses on a frozen feature network (models/style/feature_network.h):
//
//   content  mean (F_c(x) - F_c(content))^2 / mean F_c(content)^2       at the network's content layer
//   style    sum over layers l of mean (G_l(x) - G_l(style))^2 / mean G_l(style)^2, over L layers
//            G_l(x) = gram_matrix(F_l(x))
// Both are relative errors (1 when x's features are all zero), so one set of weights suits
// the classifiers and the random network alike, whatever their activations' scale.
//   tv       mean (x[i+1, j] - x[i, j])^2 + mean (x[i, j+1] - x[i, j])^2   (smoothness of x itself)
//   total    content_weight * content + style_weight * style + tv_weight * tv
//
// The content term keeps where things are (activations are positional); the style term keeps
// only which features occur together (the Gram matrix sums over positions). Shared by the
// optimisation of one image (Gatys, models/style/gatys.h) and the feed-forward network
// trained to minimise the same loss (Johnson, fast-style).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "models/style/feature_network.h"

namespace mg::style {

struct StyleWeights {
    double content = 1, style = 10, tv = 10;  // tv: on pixels in [0, 1]
};

struct StyleTerms {
    Tensor content, style, tv, total;  // 0-d
};

Tensor total_variation(const Tensor& images);  // [N, C, H, W] -> 0-d, as above

class StyleLoss {
public:
    // style_image [1, C, H, W] in [0, 1] with the network's channels: its Gram matrices are
    // computed once here.
    StyleLoss(const FeatureNetwork& features, const Tensor& style_image, StyleWeights weights);
    // The content layer's activations of content images [N, C, H, W], detached: the target.
    Tensor content_target(const Tensor& content_images) const;
    // images [N, C, H, W] (differentiable) against content_target [N, ...] from content_target().
    StyleTerms operator()(const Tensor& images, const Tensor& content_target) const;
    const StyleWeights& weights() const { return weights_; }

private:
    const FeatureNetwork& features_;
    StyleWeights weights_;
    std::vector<Tensor> style_grams_;   // [1, C_l, C_l] per layer
    std::vector<double> style_scales_;  // 1 / mean(gram^2) per layer
};

// The images' channels made to fit the network: RGB -> grey (ITU-R 601 luma weights) for a
// one-channel network, grey repeated for a three-channel one. [N, C, H, W] float in [0, 1].
Tensor fit_channels(const Tensor& images, int64_t channels);

}  // namespace mg::style
