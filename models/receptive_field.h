// The receptive field an autoregressive image model really has, computed by autograd (the
// PixelCNN papers draw it so: van den Oord et al. 2016, "Conditional Image Generation with
// PixelCNN Decoders", figure 1): which input values the prediction of one value depends on.
//
//   field[c', i', j'] = | d <w, logits of value (c, i, j)> / d image[c', i', j'] |
//
// w is a fixed pseudo-random vector over the L logits (one backward pass instead of L; a
// dependence of any logit shows unless w is orthogonal to it, which a random w is not). A
// correct model's field is exactly 0 at (i, j) from channel c on and at every pixel after
// (i, j) in raster order: the masks zero those weights (a blind spot, where the field is 0
// though allowed, is no error). The networks run in eval mode (BatchNorm's running
// statistics, so one image's values do not mix through the batch's) and nothing they hold
// changes: no parameter gradient, no running statistic, no random draw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/model.h"

namespace mg::models {

// One value of an image: channel c (R, G, B in that order), row i, column j.
struct PixelValue {
    int64_t channel = 0, row = 0, col = 0;
};

// The fields of several values of `image` [C, H, W] in [0, 1] (one forward, a backward per
// value), each float [C, H, W] on the CPU; `label` int64 [1] for a conditional model, else
// undefined. The model must have PixelLogits (models/capabilities.h).
std::vector<Tensor> receptive_fields(Model& model, const Tensor& image, const std::vector<PixelValue>& values,
                                     const Tensor& label = {});
Tensor receptive_field(Model& model, const Tensor& image, const PixelValue& value, const Tensor& label = {});

// True when input value (c', i', j') comes at or after `value` in the model's order (raster
// order of pixels, then R, G, B): the prediction of `value` must not depend on it.
bool is_future(const PixelValue& input, const PixelValue& value, int64_t width);

// A picture of a field [C, H, W] (the channels side by side), each value scaled `scale` x
// `scale`: black where the field is 0, grey to white with sqrt(field / its maximum), `value`
// itself blue when it does not see itself, and any future value it sees (a leak) red.
void write_receptive_field_png(const std::string& path, const Tensor& field, const PixelValue& value,
                               int64_t scale = 8);

}  // namespace mg::models
