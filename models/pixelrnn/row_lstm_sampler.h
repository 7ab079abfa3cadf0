// Drawing images from a Row LSTM, pixel by pixel in raster order, two ways:
//
//   naive  every pixel runs the whole network on the whole image and reads that pixel's
//          logits: H*W full forward passes.
//   rows   the LSTM state is carried row by row: each pixel of row r recomputes only row r
//          (the mask-A conv over rows r-3 .. r, each layer's input-to-state conv and cell on
//          that row from the state after row r-1, the head): one row instead of H per pixel.
//          Column W-1's pass leaves row r's state final (no hidden unit sees its own pixel),
//          so it becomes the state for row r+1.
//
// Both take one float64 uniform per pixel from the caller and pick the level by the inverse
// CDF of the float64 softmax (pixelcnn::draw_level), so the same seed gives the same images:
// the logits of the two agree to float32 rounding.
#pragma once

#include <string>

#include "models/pixelrnn/row_lstm_net.h"

namespace mg::models::pixelrnn {

enum class RowSampler { Naive, Rows };
RowSampler parse_row_sampler(const std::string& name);  // "naive" | "rows"
std::string row_sampler_name(RowSampler kind);

// Fills every pixel at raster index >= first_pixel of `images` and returns the result.
//   images    float32 [N, 1, H, W], levels / (levels - 1); pixels before first_pixel are the context
//   uniforms  float64 [N, H*W] in [0, 1), laid out as the image
//   returns   float32 [N, 1, H, W] on the CPU
// Runs without a graph. Reports each pixel drawn through report_work (models/progress.h).
Tensor sample_row_lstm(RowLstmNet& net, const Tensor& images, int64_t first_pixel, const Tensor& uniforms,
                       RowSampler kind);

}  // namespace mg::models::pixelrnn
