// PixelCNN's masked convolution (van den Oord et al. 2016), shared by the PixelCNN
// family (pixelcnn, gated PixelCNN).
//
//   MaskedConv2d conv(in, out, kernel, 'A' or 'B', bias);   // odd kernel, "same" padding k/2
//   Tensor y = conv(x);    // x [N, in, H, W] -> y [N, out, H, W] = conv2d(x, weight * mask)
//
// Output pixel (i, j) sees only input pixels before it in raster order. For a tap at
// (dy, dx) relative to the kernel centre:
//   mask A keeps it iff dy < 0 or (dy == 0 and dx < 0)     (the first layer: not the pixel itself)
//   mask B keeps it iff dy < 0 or (dy == 0 and dx <= 0)    (later layers: the centre too)
// The 7x7 masks ('#' kept, '.' zero):
//       A            B
//   # # # # # # #  # # # # # # #
//   # # # # # # #  # # # # # # #
//   # # # # # # #  # # # # # # #
//   # # # . . . .  # # # # . . .
//   . . . . . . .  . . . . . . .
//   . . . . . . .  . . . . . . .
//   . . . . . . .  . . . . . . .
// Grey images (colours 1): the mask is the same for every (output, input) channel pair.
//
// Colour images (colours 3, van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
// section 3.4): the image's channels R, G, B are drawn in that order inside a pixel, so the
// channels of every layer are split into `colours` equal groups (R, G, B: channel j of
// `count` belongs to group j / (count / colours); the image's own channels are groups 0, 1,
// 2). Taps away from the centre keep the rule above for every pair; the centre tap of the
// pair (output group go, input group gi) is kept
//   mask A iff go > gi     (G sees R, B sees R and G, R sees nothing of the current pixel)
//   mask B iff go >= gi    (a group also sees its own group of the layer below)
// The centre taps ('#' kept) for 3 output x 3 input groups:
//        A (in R G B)   B (in R G B)
//   R        . . .          # . .
//   G        # . .          # # .
//   B        # # .          # # #
// So group g at the current pixel depends only on the image's channels < g there, and no
// hidden unit of the pixel ever sees its last channel (B): a sampler can draw R, then G,
// then B, and after the draw of G every activation of the pixel is final.
//
#pragma once

#include <cstdint>
#include <string>

#include "core/nn/conv.h"

namespace mg::models::pixelcnn {

// [out_ch, in_ch, k, k] float32 of 0 and 1, as drawn above; k odd, type 'A' or 'B'.
// colours 1 or 3; with 3, out_ch and in_ch must be multiples of 3 (an error otherwise).
Tensor causal_mask(int64_t out_ch, int64_t in_ch, int64_t k, char type, int64_t colours = 1);

// The centre tap alone: [out_ch, in_ch] float32, 1 where output group >= (B) or > (A) input group.
Tensor colour_mask(int64_t out_ch, int64_t in_ch, char type, int64_t colours);

// `channels` rounded up to a multiple of `colours` (the groups must be equal).
int64_t round_to_colours(int64_t channels, int64_t colours);

class MaskedConv2d : public nn::Conv2d {
public:
    // Stride 1, padding k/2 (the output keeps the input's size); PyTorch's default init.
    MaskedConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, char mask_type, bool bias = true,
                 int64_t colours = 1);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    // weight * mask, differentiable in weight: [out, in, k, k].
    Tensor masked_weight() const;

    char mask_type;  // 'A' or 'B'
    int64_t colours;  // 1 (grey) or 3 (R, G, B channel groups)
    // The buffer "mask" [out, in, k, k] = causal_mask(out, in, k, mask_type, colours), in the
    // weight's dtype and device: saved in state_dict as PyTorch's usual
    // register_buffer("mask", ...) does, and used by masked_weight(). forward() computes
    // the taps off the centre with mask_type itself (changing this buffer does not change
    // them); with colours the centre tap is weight * mask.
    Tensor mask;
};

}  // namespace mg::models::pixelcnn
