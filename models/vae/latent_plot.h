// The picture of a 2-D latent space: encoded means of labelled images as dots coloured
// by class (the ten colours of matplotlib's tab10, class 0 first), on a light grid with
// darker axes through 0 and a strip of the ten colours, in class order, along the bottom.
#pragma once

#include <string>

#include "core/tensor.h"

namespace mg::models {

// points [n, 2] (any float dtype), labels int64 [n] >= 0 (coloured by label mod 10). The square shown is
// [-r, r]^2 with r the largest |coordinate| rounded up to a whole number (at least 3).
void write_latent_scatter(const std::string& path, const Tensor& points, const Tensor& labels, int64_t size = 480);

}  // namespace mg::models
