// Drawing images from a Gated PixelCNN, pixel by pixel in raster order and, in a colour
// pixel, channel by channel (R, G, B): each channel's logits are computed again once the
// channels before it are drawn (the last pass sees all that the pixel's activations see).
//
// Every sampler takes one uniform u per value (drawn up front, [N, C, H, W] float64, so the
// draw order is the same whatever the sampler) and picks the level by the inverse CDF of a
// float64 softmax of that pixel's logits. They compute the same logits bit for bit (the
// same taps in the same order, and never a one-column product, whose GEMM path rounds
// differently), so they give identical images for the same uniforms:
//
//   naive   the whole network on the whole canvas for every pixel: H*W full forwards.
//   rows    per row r, the vertical stack on the input rows r-1-R .. r only (R: the
//           receptive radius), keeping row r of each link; per pixel (r, c), the
//           horizontal stack and head on row r, columns c-R .. c only. Rows and columns
//           outside those windows cannot reach pixel (r, c), and the windows' own zero
//           borders only disturb outputs further than R from (r, c). About 2R+2 forwards.
//   cached  every activation is computed once: per row, one new row of each layer's
//           vertical stack (from the h+1 cached rows above it) and its link; per pixel, two
//           columns of each layer's horizontal stack (from the h+2 cached columns left of
//           them) and the head. About one forward in all, plus per-op overheads.
#pragma once

#include <string>

#include "models/pixelcnn/gated_network.h"

namespace mg::models {

enum class GatedSampler { Naive, Rows, Cached };
GatedSampler parse_gated_sampler(const std::string& name);  // "naive" | "rows" | "cached"
std::string gated_sampler_name(GatedSampler sampler);

// canvas: float32 [N, C, H, W] on the CPU, values levels/(levels-1); pixels from row
// `start_row` on are overwritten in raster order. uniforms: float64 [N, C, H, W] in [0, 1)
// (grey: [N, H, W] too).
// labels: int64 [N] for a conditional net, else undefined. device: where the net lives.
// Runs under NoGradGuard; returns the canvas (the same tensor, filled in). Reports each
// pixel drawn through report_work (models/progress.h): pixels done of all to draw.
Tensor sample_gated(GatedPixelCnnNet& net, Tensor canvas, const Tensor& labels, int64_t start_row,
                    const Tensor& uniforms, GatedSampler sampler, Device device);

// The level whose CDF interval holds u: the first k with softmax(logits)[0..k] summed > u,
// in float64. logits: `levels` values `stride` apart.
int64_t inverse_cdf_level(const float* logits, int64_t levels, int64_t stride, double u);

}  // namespace mg::models
