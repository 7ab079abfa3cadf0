// What the PixelRNN samplers share (row_lstm_sampler.h; the Diagonal BiLSTM's): the grey
// images as a sampler fills them in, the draw of one pixel, and the naive sampler.
//
// A draw takes one float64 uniform per pixel from the caller and picks the level by the
// inverse CDF of the float64 softmax (pixelcnn::draw_level), so samplers that compute the
// same logits draw the same images from the same uniforms.
#pragma once

#include <string>
#include <vector>

#include "core/nn/module.h"
#include "core/tensor.h"

namespace mg::models::pixelrnn {

// The images as a sampler fills them: float [N, 1, H, W] on the CPU, row-major, and the
// uniforms [N, H*W] that draw them.
struct PixelCanvas {
    int64_t n, h, w;
    std::vector<float> values;
    std::vector<double> uniforms;

    // Checks the sampler's arguments (errors open with `what`):
    //   images    float [N, 1, H, W], levels / (levels - 1); pixels before first_pixel are the context
    //   uniforms  float64 [N, H*W] in [0, 1), laid out as the image
    PixelCanvas(const std::string& what, const Tensor& images, int64_t first_pixel, const Tensor& uniforms);

    // Rows r0 .. r1-1 as a tensor [N, 1, r1-r0, W] on `device`.
    Tensor rows(int64_t r0, int64_t r1, Device device) const;
    // Draws pixel (r, c) of every image from logits [N, levels, rows, W] at row `row`.
    void draw(const Tensor& logits, int64_t row, int64_t r, int64_t c);
    // The images: float32 [N, 1, H, W] on the CPU.
    Tensor images() const;
};

// Fills every pixel at raster index >= first_pixel, each by a forward of `net` ([N, 1, H, W]
// -> logits [N, levels, H, W]) on the whole image: H*W forwards. Runs without a graph;
// reports each pixel drawn through report_work (models/progress.h).
Tensor sample_naive(nn::Module& net, const std::string& what, const Tensor& images, int64_t first_pixel,
                    const Tensor& uniforms);

}  // namespace mg::models::pixelrnn
