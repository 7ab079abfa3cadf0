// The Gated PixelCNN network: `layers` gated layers (gated_layer.h) and the output head.
//
//   x [N, colours, H, W] in [0, 1]
//     │ v = x, h = x
//     ├─ layer 1 (mask A, kernel first_kernel)  ─┐  each layer: (v, h) -> (v', h'),
//     ├─ layer 2 .. L (mask B, kernel `kernel`)  ─┘  the vertical stack feeding h via links
//     │ h_L [N, C, H, W]
//     └─ ReLU ─► 1x1 conv (C -> head) ─► ReLU ─► 1x1 conv (head -> colours*256) ─► logits
//                                                         [N, colours*256, H, W]
//
// Colour (colours 3): the logits of channel c are rows c*256 .. (c+1)*256 - 1 (a view
// [N, 3, 256, H, W]); the horizontal stack and the head keep R, G, B channel groups
// (gated_layer.h, masked_conv.h), so channel c's logits see channels < c of the pixel itself
// on top of the field below; channels and head_channels are multiples of 3.
//
// The receptive field of output pixel (r, c), with R = first_kernel/2 + (layers-1)*(kernel/2):
// every column c-R .. c+R of the R+1 rows r-1-R .. r-1, and columns c-R .. c-1 of row r.
//
// forward() runs layer by layer; the same computation also splits in two, for the samplers:
//   links(x)          the vertical stack: one link [N, 2C, H, W] per layer; row r of every
//                     link depends on input rows < r only
//   horizontal(x, ls) the horizontal stack and the head, given the links of the same rows
//                     and columns; column c depends on columns <= c of x and the links
#pragma once

#include <memory>
#include <vector>

#include "core/nn/conv.h"
#include "models/pixelcnn/gated_layer.h"

namespace mg::models {

struct GatedNetOptions {
    int64_t channels = 64;
    int64_t layers = 7;
    int64_t first_kernel = 7;
    int64_t kernel = 3;
    int64_t head_channels = 64;
    int64_t classes = 0;  // > 0: class-conditional
    int64_t levels = 256;
    int64_t colours = 1;  // image channels: 1 (grey) or 3 (R, G, B)
};

class GatedPixelCnnNet : public nn::Module {
public:
    explicit GatedPixelCnnNet(const GatedNetOptions& options);

    // x [N, colours, H, W], labels int64 [N] (conditional) or undefined -> logits [N, colours*levels, H, W].
    Tensor forward(const Tensor& x, const Tensor& labels);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }  // unconditional
    // x [N, colours, H, W] -> one link [N, 2C, H, W] per layer.
    std::vector<Tensor> links(const Tensor& x, const Tensor& labels);
    // x [N, colours, H, W] and links of the same H x W window -> logits [N, colours*levels, H, W].
    Tensor horizontal(const Tensor& x, const std::vector<Tensor>& links, const Tensor& labels);
    // The output head: the last horizontal stack [N, C, H, W] -> logits [N, colours*levels, H, W].
    Tensor head(const Tensor& h);

    // R: how far the receptive field reaches left, right and up (see above).
    int64_t receptive_radius() const;
    const GatedNetOptions& options() const { return options_; }

    std::vector<std::shared_ptr<GatedLayer>> layers;
    std::shared_ptr<nn::Conv2d> head_hidden, head_out;  // MaskedConv2d (type B) with colours

private:
    void check_input(const Tensor& x) const;

    GatedNetOptions options_;
};

}  // namespace mg::models
