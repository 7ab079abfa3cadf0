// Augmentation of 8-bit images [H, W, C] (core/io/image_decode.h's ImageU8), and the step
// from images to a normalised float batch.
//
// The colour adjustments are Pillow's ImageEnhance (what torchvision's ColorJitter calls on
// PIL images), bit for bit: each blends the image with a "degenerate" image,
// out = trunc(float(d) + f * float(in - d)), clipped to [0, 255], where d is
//   brightness   black                               f = 0: black, 1: unchanged
//   contrast     the mean grey level, int(mean(L) + 0.5), everywhere
//   saturation   the image's grey version (io::luma), as RGB
// and hue (torchvision's adjust_hue) converts to Pillow's 8-bit HSV, adds
// trunc(hue * 255) mod 256 to H, and converts back. Saturation and hue leave grey images as
// they are. Random choices come from a RandomStream, so a seed reproduces a batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/random_stream.h"
#include "core/io/image_decode.h"
#include "core/tensor.h"

namespace mg::data {

// Throws unless `image` is a consistent grey or RGB image; `op` opens the message.
void check_grey_or_rgb(const io::ImageU8& image, const char* op);

io::ImageU8 adjust_brightness(const io::ImageU8& image, double factor);  // factor >= 0
io::ImageU8 adjust_contrast(const io::ImageU8& image, double factor);    // factor >= 0
io::ImageU8 adjust_saturation(const io::ImageU8& image, double factor);  // factor >= 0
io::ImageU8 adjust_hue(const io::ImageU8& image, double hue);            // hue in [-0.5, 0.5]

// torchvision's ColorJitter: factors uniform in [max(0, 1 - b), 1 + b] (likewise contrast,
// saturation), hue uniform in [-hue, hue]; the four applied in a random order. 0 disables one.
struct ColorJitter {
    double brightness = 0, contrast = 0, saturation = 0, hue = 0;  // hue <= 0.5
    bool any() const { return brightness > 0 || contrast > 0 || saturation > 0 || hue > 0; }
};
io::ImageU8 color_jitter(const io::ImageU8& image, const ColorJitter& jitter, RandomStream& random);
// Throws (the message opens with `what`) unless brightness, contrast and saturation are in
// [0, 10] (factors up to 11) and hue in [0, 0.5].
void check_color_jitter(const ColorJitter& jitter, const std::string& what);

// "B,C,S,H" (brightness, contrast, saturation, hue) or one number B for the first three
// (hue 0); "" is no jitter. Checked as check_color_jitter does; errors open with `what` (a
// flag or an option) and the text.
ColorJitter parse_color_jitter(const std::string& text, const std::string& what);

// The same operations in place on one image in either layout, for a batch's images without
// a copy: `pixels` pixels of `channels` (1 or 3) bytes, interleaved [P, C] as ImageU8 holds
// them, or planar [C, P] as a [C, H, W] batch does.
struct PixelsView {
    uint8_t* data = nullptr;
    int64_t pixels = 0, channels = 0;
    bool planar = false;
};
// ColorJitter's random choices for one image, drawn in color_jitter's order: the order of the
// four, then the factor of each enabled one in that order.
struct JitterDraw {
    int order[4] = {0, 1, 2, 3};  // 0 brightness, 1 contrast, 2 saturation, 3 hue
    bool enabled[4] = {};
    double value[4] = {};  // the factor (hue: the shift)
};
JitterDraw draw_color_jitter(const ColorJitter& jitter, RandomStream& random);
void apply_color_jitter(const PixelsView& image, const JitterDraw& draw);

// Moves the content by (dy, dx) pixels: out[y, x] = in[y - dy, x - dx], `fill` where that
// lies outside (grey images use fill[0]).
io::ImageU8 translate(const io::ImageU8& image, int64_t dy, int64_t dx, io::Rgb fill = {0, 0, 0});
// dy uniform in [-max_dy, max_dy], then dx in [-max_dx, max_dx].
io::ImageU8 random_translate(const io::ImageU8& image, int64_t max_dy, int64_t max_dx, RandomStream& random,
                             io::Rgb fill = {0, 0, 0});

// Fills the h x w window at (top, left), clipped to the image, with `fill`.
io::ImageU8 cutout(const io::ImageU8& image, int64_t top, int64_t left, int64_t h, int64_t w,
                   io::Rgb fill = {0, 0, 0});
// A size x size window centred on a uniformly drawn pixel (centre row, then column), clipped.
io::ImageU8 random_cutout(const io::ImageU8& image, int64_t size, RandomStream& random, io::Rgb fill = {0, 0, 0});

io::ImageU8 to_grey(const io::ImageU8& image);  // RGB -> L with io::luma; grey stays as it is
io::ImageU8 to_rgb(const io::ImageU8& image);   // L -> RGB by repeating it; RGB stays as it is

// Per-channel normalisation of x / 255: (x / 255 - mean[c]) / std[c].
struct Normalize {
    std::vector<double> mean = {0.5}, std = {0.5};  // one value: every channel; the default gives [-1, 1]
};

// images (all of one size and channel count) -> float32 [N, C, H, W] on the CPU.
Tensor images_to_batch(const std::vector<io::ImageU8>& images, const Normalize& normalize = {});
// Packed uint8 images [N, C, H, W] (an image cache's view) -> float32 [N, C, H, W].
Tensor packed_to_batch(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w,
                       const Normalize& normalize = {});

}  // namespace mg::data
