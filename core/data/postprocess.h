// Postprocessing of generated samples for viewing: denoising, sharpening, colour
// correction and upscaling, on 8-bit images [H, W, C] (C = 1 or 3). Float samples come in
// through batch_to_images.
//
//   median_filter     each channel's median over a k x k window, edges repeated
//                     (Pillow's ImageFilter.MedianFilter(k), bit for bit)
//   bilateral_filter  sum of w * in over a (2r + 1)^2 window, r = ceil(2 sigma_space),
//                     w = exp(-d^2 / 2 sigma_space^2 - |dI|^2 / 2 sigma_color^2), |dI| the
//                     colour distance over all channels; edges repeated; rounded
//   unsharp_mask      Pillow's ImageFilter.UnsharpMask(radius, percent, threshold), bit for
//                     bit: Pillow's Gaussian blur (three box blurs per axis, 8-bit between
//                     passes), then in + (in - blur) * percent / 100 where |in - blur| > threshold
//   match_histograms  per channel, level v -> the smallest level u whose reference CDF
//                     reaches v's CDF in the image (classic histogram specification)
//   grey_world        each channel scaled so that its mean is the mean of the channel means
//   upscale           resize.h's bicubic or Lanczos by an integer factor
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/data/resize.h"
#include "core/io/image_decode.h"
#include "core/tensor.h"

namespace mg::data {

io::ImageU8 median_filter(const io::ImageU8& image, int64_t size);  // size odd, 1..15
io::ImageU8 bilateral_filter(const io::ImageU8& image, double sigma_space, double sigma_color);
io::ImageU8 unsharp_mask(const io::ImageU8& image, double radius = 2.0, int percent = 150, int threshold = 3);
// Pillow's ImageFilter.GaussianBlur(radius) (three extended box blurs per axis).
io::ImageU8 gaussian_blur(const io::ImageU8& image, double radius);

// Per-channel histograms of a set of images (e.g. the training set).
struct ChannelHistograms {
    int64_t channels = 0;
    std::vector<std::array<uint64_t, 256>> counts;  // [channels][level]
};
ChannelHistograms channel_histograms(const std::vector<io::ImageU8>& images);
// The same from packed images uint8 [N, C, H, W] (an image cache's view).
ChannelHistograms channel_histograms(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w);

io::ImageU8 match_histograms(const io::ImageU8& image, const ChannelHistograms& reference);
io::ImageU8 grey_world(const io::ImageU8& image);
io::ImageU8 upscale(const io::ImageU8& image, int64_t factor, ResizeFilter filter = ResizeFilter::lanczos);

// A float batch [N, C, H, W] (C = 1 or 3, any device) with values in [low, high] -> 8-bit
// images, round((x - low) / (high - low) * 255) clipped; NaN is an mg::Error.
std::vector<io::ImageU8> batch_to_images(const Tensor& batch, double low = -1.0, double high = 1.0);

}  // namespace mg::data
