// CycleGAN's generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016's network), sized
// for small images. For an S x S image, S divisible by 4, with w = width and n = blocks:
//
//   c7s1-w     Conv7x7 s1 (C -> w), InstanceNorm, ReLU                  S x S
//   d2w, d4w   Conv3x3 s2, InstanceNorm, ReLU                           S/2, S/4
//   n x R4w    x + IN(Conv3x3(ReLU(IN(Conv3x3(x)))))                    S/4 x S/4, 4w channels
//   u2w, uw    ConvT3x3 s2 (output_padding 1), InstanceNorm, ReLU        S/2, S
//   c7s1-C     Conv7x7 s1 (w -> C), Tanh                                S x S
//
// InstanceNorm (no affine, as the authors' code) normalises each image's channel over its
// H x W: layer_norm over the last two dims. Convolutions followed by it have no bias (its
// mean subtraction would cancel one). The paper pads with reflection; minigen has no reflect
// padding op, so these convolutions pad with zeros (a slightly darker border is the cost).
//
// Why this and not pix2pix's U-Net: the U-Net's outermost skip makes copying the input the
// easiest output, and with no paired target only D argues against it, while the cycle terms
// reward it (a copy in both directions has zero cycle loss). The ResNet generator keeps the
// layout through its residual blocks at S/4 but has to re-render every pixel, as the paper
// chose for translations that change texture and colour. At 32 px its blocks work at 8 x 8.
#pragma once

#include <memory>

#include "core/nn/nn.h"

namespace mg::models {

class ResnetGenerator : public nn::Module {
public:
    ResnetGenerator(int64_t channels, int64_t width, int64_t blocks, int64_t size);
    Tensor forward(const Tensor& x) override;  // [B, C, S, S] in [-1, 1] -> [B, C, S, S] in (-1, 1)

    int64_t channels, size;
    std::shared_ptr<nn::Sequential> net;  // the layers above, in order (net.K)
};

}  // namespace mg::models
