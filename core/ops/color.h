// Colour-space ops for colorization (core/ops/color.cpp): sRGB <-> CIELAB, differentiable,
// composed of core's elementwise ops (so gradients of any order come from theirs).
// Included by core/ops.h; part of the functional API.
//
//   x [N, 3, H, W] float32 or float64, channels R, G, B in [0, 1] with the sRGB gamma
//   rgb_to_lab(x) [N, 3, H, W]: L* in [0, 100], a*, b* in about [-128, 127]
//
// skimage.color.rgb2lab / lab2rgb's formulas: sRGB's piecewise gamma (linear below 0.04045),
// its RGB -> XYZ matrix, the D65 white of the 2-degree observer (0.95047, 1, 1.08883), and
// f(t) = t^(1/3) above (6/29)^3 = 0.008856, 7.787 t + 16/116 below (the linear part keeps
// f's slope finite at black). lab_to_rgb does not clip out-of-gamut results to [0, 1] (a
// clip has no gradient there); callers that show or score the image clamp it.
#pragma once

#include "core/tensor.h"

namespace mg {

// ---- colour spaces (core/ops/color.cpp) -------------------------------------------
Tensor rgb_to_lab(const Tensor& rgb);  // [N, 3, H, W] sRGB in [0, 1] -> L*a*b*
Tensor lab_to_rgb(const Tensor& lab);  // [N, 3, H, W] L*a*b* -> sRGB, unclipped

}  // namespace mg
