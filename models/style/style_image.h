// Reading the pictures style transfer works on: one image file (PNG or JPEG, through the
// capped decoder core/io/image_decode.h) or a folder of them, centre-cropped to a square and
// resized to size x size (bicubic, as Pillow does), as floats in [0, 1].
#pragma once

#include <string>

#include "core/tensor.h"

namespace mg::style {

// path -> [1, channels, size, size]; channels 1 makes colour files grey (ITU-R 601 luma).
// Errors open with `what` (the flag, e.g. "--style") and name the file.
Tensor read_style_image(const std::string& path, int64_t channels, int64_t size, const std::string& what);

// An image file, or a folder's PNG and JPEG files in name order (at most `max_images`) ->
// [N, channels, size, size]. An empty folder is an error naming it.
Tensor read_style_images(const std::string& path, int64_t channels, int64_t size, const std::string& what,
                         int64_t max_images = 256);

}  // namespace mg::style
