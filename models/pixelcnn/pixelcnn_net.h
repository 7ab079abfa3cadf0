// The PixelCNN network of workloads.md (van den Oord et al. 2016, without gating):
//
//   MaskedConv2d A (colours -> C, k, no bias) -> BatchNorm2d(C) -> ReLU
//   layers x [MaskedConv2d B (C -> C, k, no bias) -> BatchNorm2d(C) -> ReLU]
//   Conv2d(C, colours * levels, 1)                       -> logits per pixel
//
//   x [N, colours, H, W] (levels scaled to [0, 1]) -> logits [N, colours * levels, H, W]
//
// The logits of channel c are rows c*levels .. (c+1)*levels - 1: a view [N, colours, levels,
// H, W]. Grey (colours 1): the network of workloads.md. Colour (3): every layer's channels
// split into R, G, B groups (masked_conv.h), the head a masked 1x1 conv of type B, so the
// logits of G see R of the same pixel and those of B see R and G; C a multiple of 3.
//
// workloads.md: C = 64, layers = 7, k = 7, levels = 256. The children are numbered as
// PyTorch's nn.Sequential numbers them ("0.weight", "0.mask", "1.running_mean", ...,
// "24.weight", "24.bias"), so a state_dict matches tools/reference/torch_ref.py's pixelcnn_net().
#pragma once

#include <memory>
#include <vector>

#include "core/nn/nn.h"
#include "models/pixelcnn/masked_conv.h"

namespace mg::models::pixelcnn {

struct NetShape {
    int64_t channels = 64;  // C: the width of every hidden layer
    int64_t layers = 7;     // the type-B blocks after the type-A one
    int64_t kernel = 7;     // odd
    int64_t levels = 256;   // levels per channel: the softmax size
    int64_t colours = 1;    // image channels: 1 (grey) or 3 (R, G, B)
    char first_mask = 'A';  // 'B' only as the mask-b-first bug (models/bugs.h): each pixel sees itself
};

class PixelCnnNet : public nn::Sequential {
public:
    explicit PixelCnnNet(const NetShape& shape);

    NetShape shape;
    // The blocks, typed, for the cached sampler: convs[0] is type A, the others type B;
    // norms[i] follows convs[i]; head is the 1x1 output convolution (a MaskedConv2d with colours).
    std::vector<std::shared_ptr<MaskedConv2d>> convs;
    std::vector<std::shared_ptr<nn::BatchNorm2d>> norms;
    std::shared_ptr<nn::Conv2d> head;

    // The head as a matrix [colours * levels, C], masked with colours.
    Tensor head_matrix() const;
};

}  // namespace mg::models::pixelcnn
