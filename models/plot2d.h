// Pictures of 2-D points for the toy GANs: scatter plots of real and generated
// points over a heat map of the discriminator's output, drawn straight into an RGB
// image (no plotting library needed).
#pragma once

#include <functional>
#include <string>

#include "core/tensor.h"

namespace mg::models::plot2d {

struct View {
    double lo = -3.0, hi = 3.0;  // the square [lo, hi]^2 shown
    int64_t size = 400;          // pixels per side
};

// generated [n, 2] in red over real [m, 2] (may be undefined) in grey.
void write_scatter(const std::string& path, const Tensor& generated, const Tensor& real, const View& view = {});

// The same over a heat map of surface(points [k, 2]) -> probabilities [k] (or [k, 1]) in [0, 1],
// blue (fake, 0) to orange (real, 1), with the 0.5 contour left white; a colour key with the
// values of D(x) on the right makes the image view.size + 130 pixels wide.
void write_decision_surface(const std::string& path, const std::function<Tensor(const Tensor&)>& surface,
                            const Tensor& generated, const Tensor& real, const View& view = {});

}  // namespace mg::models::plot2d
