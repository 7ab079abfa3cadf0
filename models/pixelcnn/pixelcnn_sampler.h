// Ancestral sampling from a PixelCNN, pixel by pixel in raster order and, in a colour
// pixel, channel by channel (R, G, B), two ways:
//
//   naive   every pixel runs the whole network on the whole image and reads the logits
//           of that one pixel: H*W full forward passes (784 for Fashion-MNIST).
//   cached  every layer's activations are kept; each new pixel computes, in every layer,
//           only the one position it needs (Ramachandran et al. 2017, "Fast generation
//           for convolutional autoregressive models"). In eval mode a block is a masked
//           conv + an affine BatchNorm + ReLU, and its value at position q depends only on
//           the previous layer at positions <= q (raster order), the image at positions
//           < q for the first (type-A) layer. So when pixel p is drawn, every layer's value
//           at p is final and never recomputed: one position per layer per pixel, and each
//           position touches only the kept taps of its mask. A colour pixel computes its
//           position once per channel (the drawn channels feed the next one's logits); the
//           last pass sees every channel that any activation of the pixel depends on
//           (masked_conv.h), so what it leaves in the caches is final.
//
// Both draw the same random numbers in the same order: one float64 uniform u per value,
// given by the caller, and the level is the inverse CDF of the softmax of the pixel's
// logits, computed in float64 (draw_level). The logits of the two samplers agree to
// float32 rounding (~1e-6), so a draw can differ only when u falls within that distance
// of a CDF step: for practical purposes never; the tests check it with a fixed seed.
#pragma once

#include <string>

#include "models/pixelcnn/pixelcnn_net.h"

namespace mg::models::pixelcnn {

enum class SamplerKind { Naive, Cached };
SamplerKind parse_sampler(const std::string& name);  // "naive" | "cached"
std::string sampler_name(SamplerKind kind);

// The smallest level k with u < F(k), F the CDF of softmax(logits) in float64;
// logits [levels], u in [0, 1).
int64_t draw_level(const float* logits, int64_t levels, double u);

// Fills every pixel at raster index >= first_pixel of `images` and returns the result.
//   images    float32 [N, colours, H, W], levels / (levels - 1); pixels before first_pixel
//             are the given context (all their channels), the rest are ignored
//   uniforms  float64 [N, colours*H*W] in [0, 1): the draw of each value, laid out as the
//             image (the context's are unused)
//   returns   float32 [N, colours, H, W] on the CPU, every value a level / (levels - 1)
// Runs the network in eval mode without a graph, and puts its mode back. Reports each
// pixel drawn through report_work (models/progress.h): pixels done of all to draw.
Tensor sample_pixels(PixelCnnNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms,
                     SamplerKind kind);

}  // namespace mg::models::pixelcnn
