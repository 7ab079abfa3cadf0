// Johnson et al. (2016)'s image transformation network, scaled to small images:
//
//   x [N, C, S, S] in [0, 1]
//   -> Conv9x9(C, w) IN ReLU -> Conv3x3/2(w, 2w) IN ReLU -> Conv3x3/2(2w, 4w) IN ReLU   [N, 4w, S/4, S/4]
//   -> R residual blocks: x + IN(Conv3x3(ReLU(IN(Conv3x3(x)))))
//   -> (nearest upsample x2, Conv3x3) IN ReLU twice: 4w -> 2w -> w                      [N, w, S, S]
//   -> Conv9x9(w, C) = d;  y = sigmoid(logit(x) + d)                                    [N, C, S, S] in [0, 1]
//
// The last conv starts at zero, so T starts as the identity: it learns a change to the content
// picture (in logit space) rather than the picture itself. Johnson's (tanh + 1) / 2 output must
// first learn to reproduce the content from grey; with a few hundred steps on a CPU it settles
// on painting the style picture itself over every input, a local minimum of the style term.
//
// IN is instance normalisation (Ulyanov et al. 2016: each image's channels normalised over
// their positions, then a learnt scale and shift), which the fast style papers found
// essential: the contrast of the content image is normalised away. Upsampling is nearest
// then a convolution rather than a transposed convolution, which avoids checkerboard
// artefacts (Odena et al. 2016). Padding is zeros (the paper reflects).
#pragma once

#include <memory>
#include <vector>

#include "core/nn/nn.h"

namespace mg::style {

// Instance normalisation with a per-channel affine: [N, C, H, W] -> same.
class InstanceNorm2d : public nn::Module {
public:
    explicit InstanceNorm2d(int64_t channels, double eps = 1e-5);
    Tensor forward(const Tensor& x) override;
    Tensor weight, bias;  // [C], 1 and 0 at first

private:
    double eps_;
};

// [N, C, H, W] -> [N, C, 2H, 2W], each pixel repeated 2x2 (differentiable: a view and a copy).
Tensor upsample_nearest2x(const Tensor& x);

class TransformNetwork : public nn::Module {
public:
    // channels 1 or 3; width w >= 1; residual_blocks >= 0. Image sides must be multiples of 4.
    TransformNetwork(int64_t channels, int64_t width, int64_t residual_blocks);
    Tensor forward(const Tensor& x) override;

private:
    std::shared_ptr<nn::Sequential> down_;
    std::vector<std::shared_ptr<nn::Sequential>> residual_;
    std::vector<std::shared_ptr<nn::Sequential>> up_;  // conv IN ReLU after each upsample
    std::shared_ptr<nn::Conv2d> out_;
};

}  // namespace mg::style
