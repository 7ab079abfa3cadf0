// Resizing 8-bit images the way Pillow's Image.resize does (libImaging/Resample.c), so that
// a data set prepared here matches one prepared in Python.
//
// Every filter but nearest is separable: a horizontal pass over the rows the vertical pass
// needs, then a vertical pass, each through uint8. Output pixel x of n, from an input of
// size m, is centred at (x + 0.5) * m / n; when downscaling, the filter's support is
// stretched by m / n (antialiasing), so every input pixel contributes. The weights of each
// output pixel are normalised to sum 1, rounded to 22-bit fixed point, and the sum is
// rounded and clamped to [0, 255]. A dimension whose size does not change is not filtered.
//
//   filter     support  kernel
//   box        0.5      1 on (-0.5, 0.5]          ("area": each output pixel averages its box)
//   bilinear   1        1 - |x|
//   bicubic    2        Keys cubic, a = -0.5
//   lanczos    3        sinc(x) sinc(x / 3)
//   nearest    -        input pixel floor((x + 0.5) * m / n), the step accumulated in double
//                       as Pillow's affine scaling does
#pragma once

#include <cstdint>
#include <string_view>

#include "core/io/image_decode.h"

namespace mg::data {

enum class ResizeFilter { nearest, box, bilinear, bicubic, lanczos };

// "nearest", "box" (or "area"), "bilinear", "bicubic", "lanczos"; anything else is an
// mg::Error listing them.
ResizeFilter parse_resize_filter(std::string_view name);
std::string_view resize_filter_name(ResizeFilter filter);

// image [H, W, C] -> [height, width, C], C (1..4) unchanged. height, width >= 1.
io::ImageU8 resize(const io::ImageU8& image, int64_t height, int64_t width, ResizeFilter filter);

}  // namespace mg::data
