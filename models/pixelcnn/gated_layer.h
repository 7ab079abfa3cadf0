// One gated layer of the Gated PixelCNN (van den Oord et al. 2016, "Conditional Image
// Generation with PixelCNN Decoders"): a vertical and a horizontal stack, h = k/2.
//
//   v_in ─► pad h+1 zero rows on top ─► conv (h+1) x k ─► vp [N, 2C, H+1, W]
//            vp rows 1..H as rows 0..H-1: row r sees input rows r-h .. r ─► +y_v ─► tanh·σ ─► v_out
//            vp rows 0..H-1:              row r sees input rows r-1-h .. r-1 (the down-shift)
//                                         └─► 1x1 conv ─► link
//   h_in ─► conv 1 x (h+1) over columns c-h .. c   (first layer: 1 x h over c-h .. c-1)
//            + link + y_h ─► tanh·σ ─► 1x1 conv ─► (+ h_in, except the first layer) ─► h_out
//
// tanh·σ splits the 2C channels in halves: tanh(a[:C]) * sigmoid(a[C:]). y_v and y_h are
// the class biases [N, 2C, 1, 1] of a conditional layer (a learned row per class), added
// before both nonlinearities. The horizontal stack sees the vertical one only through the
// down-shifted link, so nothing at or right of the current pixel in its row leaks in,
// while the vertical stack covers every column of the rows above: no blind spot.
//
// Colour images (colours 3): the vertical stack sees only rows above, so every channel; the
// horizontal stack's channels split into R, G, B groups (masked_conv.h; the 2C gate inputs
// as two C halves, so a gate pairs channels of one group). Its conv then spans columns
// c-h .. c in the first layer too, and the centre column is masked by the groups (A in the
// first layer, B after), as is conv_out (B); the link and the class biases need no mask.
#pragma once

#include <memory>
#include <utility>

#include "core/nn/conv.h"
#include "core/nn/embedding.h"
#include "core/nn/module.h"
#include "models/pixelcnn/masked_conv.h"

namespace mg::models {

class GatedLayer : public nn::Module {
public:
    // first: the layer that reads the image (mask A: the horizontal conv excludes the
    // current pixel, and there is no residual). classes > 0: a conditional layer. colours 1
    // or 3: the channel groups of the horizontal stack (in_channels and channels multiples of it).
    GatedLayer(int64_t in_channels, int64_t channels, int64_t kernel, bool first, int64_t classes,
               int64_t colours = 1);

    // v [N, C_in, H, W] -> vp [N, 2C, H+1, W]: row o is the conv over input rows o-1-h .. o-1.
    Tensor vertical_conv(const Tensor& v);
    // The same conv without the top padding: v [N, C_in, H', W] -> [N, 2C, H'-h, W], row o over
    // input rows o .. o+h. Given rows r-h .. r (zeros above the image) it makes vp's row r+1.
    Tensor vertical_conv_unpadded(const Tensor& v);
    // vp rows -> v_out rows: the gate, [N, 2C, H', W] -> [N, C, H', W]. Use vp's rows 1..H.
    Tensor vertical_gate(const Tensor& vp_rows, const Tensor& labels);
    // vp rows -> link rows, the 1x1 conv: [N, 2C, H', W] -> [N, 2C, H', W]. Use vp's rows 0..H-1.
    Tensor link(const Tensor& vp_rows);
    // h [N, C_in, H, W], link [N, 2C, H, W] -> h_out [N, C, H, W].
    Tensor horizontal(const Tensor& h, const Tensor& link, const Tensor& labels);
    // The horizontal stack at two adjacent columns p, p+1 of one row, from its input's columns
    // p-h .. p+1 (zeros left of the image): h [N, C_in, 1, h+2], link [N, 2C, 1, 2] -> [N, C, 1, 2].
    Tensor horizontal_pair(const Tensor& h, const Tensor& link, const Tensor& labels);
    // Both stacks: (v, h) -> (v_out, h_out). labels: int64 [N] for a conditional layer, else undefined.
    std::pair<Tensor, Tensor> forward(const Tensor& v, const Tensor& h, const Tensor& labels);
    using nn::Module::forward;  // the one-input form is not used: a layer needs both stacks

    std::string extra_repr() const override;

    const int64_t in_channels, channels, kernel;
    const bool first;
    const int64_t classes, colours;
    std::shared_ptr<nn::Conv2d> conv_v, conv_link, conv_h, conv_out;  // conv_out: a MaskedConv2d with colours
    std::shared_ptr<nn::Embedding> label_v, label_h;  // [classes, 2C]; null when unconditional
    Tensor mask_h;  // colours: the buffer "mask_h" [2C, C_in, 1, h+1] over conv_h's taps; else undefined

private:
    Tensor conv_h_weight() const;  // conv_h's weight, masked with colours
    Tensor label_bias(const std::shared_ptr<nn::Embedding>& table, const Tensor& labels) const;
    // conv_h's output a (bias included) -> h_out: + link, + class bias, gate, 1x1 conv, + residual.
    Tensor horizontal_rest(const Tensor& a, const Tensor& link, const Tensor& labels, const Tensor& residual);
};

// tanh(a[:, :C]) * sigmoid(a[:, C:]) for a [N, 2C, H, W] -> [N, C, H, W].
Tensor gated_activation(const Tensor& a);

}  // namespace mg::models
