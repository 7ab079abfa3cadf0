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
// The mask is the same for every (output, input) channel pair: minigen's PixelCNNs see
// one grey channel, so the colour-channel ordering of RGB PixelCNNs (R before G before B
// inside a pixel) does not arise.
//
// forward is masked_conv2d (core/ops.h): conv2d(x, weight * mask) computed on the kept
// taps only, about half the work of the dense 7x7 convolution. The hidden taps of `weight`
// are never read and get an exactly zero gradient, so an optimizer step leaves them where
// they are (Adam moves a parameter only by its gradient's moments: zero stays zero).
// masked_weight() is the same map as an explicit product, for code that wants the taps.
#pragma once

#include <cstdint>
#include <string>

#include "core/nn/conv.h"

namespace mg::models::pixelcnn {

// [out_ch, in_ch, k, k] float32 of 0 and 1, as drawn above; k odd, type 'A' or 'B'.
Tensor causal_mask(int64_t out_ch, int64_t in_ch, int64_t k, char type);

class MaskedConv2d : public nn::Conv2d {
public:
    // Stride 1, padding k/2 (the output keeps the input's size); PyTorch's default init.
    MaskedConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, char mask_type, bool bias = true);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    // weight * mask, differentiable in weight: [out, in, k, k].
    Tensor masked_weight() const;

    char mask_type;  // 'A' or 'B'
    // The buffer "mask" [out, in, k, k] = causal_mask(out, in, k, mask_type), in the
    // weight's dtype and device: saved in state_dict as PyTorch's usual
    // register_buffer("mask", ...) does, and used by masked_weight(). forward() computes
    // with mask_type itself, so changing this buffer does not change the layer.
    Tensor mask;
};

}  // namespace mg::models::pixelcnn
