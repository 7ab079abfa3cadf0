// Plain geometric operations on 8-bit images [H, W, C] (core/io/image_decode.h's ImageU8):
// crops, padding, flips, and the resize-then-crop that fits any image to a target size.
#pragma once

#include <cstdint>

#include "core/data/random_stream.h"
#include "core/data/resize.h"
#include "core/io/image_decode.h"

namespace mg::data {

// The h x w window whose top-left pixel is (top, left); it must lie inside the image.
io::ImageU8 crop(const io::ImageU8& image, int64_t top, int64_t left, int64_t h, int64_t w);

// The h x w window in the middle: top = (H - h) / 2, left = (W - w) / 2, rounded down.
io::ImageU8 center_crop(const io::ImageU8& image, int64_t h, int64_t w);

// An h x w window at a position drawn uniformly from every one that fits (top first).
io::ImageU8 random_crop(const io::ImageU8& image, int64_t h, int64_t w, RandomStream& random);

enum class PadMode {
    constant,  // `fill` (per channel; grey images use fill[0])
    edge,      // the nearest border pixel repeated
    reflect,   // mirrored without repeating the border pixel (numpy's "reflect"); pad < size
};

// Adds `top`, `bottom`, `left`, `right` pixels around the image.
io::ImageU8 pad(const io::ImageU8& image, int64_t top, int64_t bottom, int64_t left, int64_t right,
                PadMode mode = PadMode::constant, io::Rgb fill = {0, 0, 0});

// Mirrors left and right.
io::ImageU8 hflip(const io::ImageU8& image);

// How an image of another shape is brought to the target height x width.
enum class Fit {
    stretch,  // resize straight to height x width (the aspect ratio changes)
    cover,    // resize so it covers the target keeping its aspect ratio, then center_crop
};

// Resizes (and crops, for Fit::cover) to height x width. With cover the scaled size is
// the target on the limiting side and round(other * scale) (at least the target) on the
// other; an image already of the target's aspect ratio is resized exactly as by stretch.
io::ImageU8 fit_to(const io::ImageU8& image, int64_t height, int64_t width, ResizeFilter filter, Fit fit);

}  // namespace mg::data
