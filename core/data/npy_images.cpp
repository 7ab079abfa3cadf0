// The npy: image source (core/data/image_dataset.h).
#include <algorithm>

#include "core/data/image_dataset.h"
#include "core/data/augment.h"
#include "core/io/npy.h"
#include "kernels/base.h"

namespace mg::data {

namespace {

bool is_channel_count(int64_t c) { return c == 1 || c == 3 || c == 4; }

// Image i of the array as [H, W, C] with its own channel count.
io::ImageU8 image_at(const uint8_t* data, int64_t i, int64_t h, int64_t w, int64_t c, bool channels_last) {
    io::ImageU8 im{h, w, c, std::vector<uint8_t>(size_t(h * w * c))};
    const uint8_t* src = data + i * h * w * c;
    if (channels_last) std::copy(src, src + h * w * c, im.pixels.begin());
    else
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < h * w; ++p) im.pixels[size_t(p * c + ch)] = src[ch * h * w + p];
    return im;
}

// RGBA -> RGB over the background (image_decode.h's rounding), then the wanted channel count.
io::ImageU8 to_channels(io::ImageU8 im, int64_t channels, io::Rgb bg) {
    if (im.channels == 4) {
        io::ImageU8 rgb{im.height, im.width, 3, std::vector<uint8_t>(size_t(im.height * im.width * 3))};
        for (size_t p = 0; p < size_t(im.height * im.width); ++p) {
            const uint32_t a = im.pixels[4 * p + 3];
            for (size_t c = 0; c < 3; ++c)
                rgb.pixels[3 * p + c] = uint8_t((im.pixels[4 * p + c] * a + bg[c] * (255 - a) + 127) / 255);
        }
        im = std::move(rgb);
    }
    return channels == 1 ? to_grey(im) : to_rgb(im);
}

}  // namespace

PackedImages open_npy_images(const std::string& path, const std::string& labels_path, NpyLayout layout,
                             const ImageCacheOptions& options) {
    MG_CHECK((options.channels == 1 || options.channels == 3) && options.height >= 1 && options.width >= 1 &&
                 options.height <= 16384 && options.width <= 16384,
             "npy: '{}': {} channels of {}x{} asked for; 1 or 3 channels of 1..16384 pixels are possible", path,
             options.channels, options.height, options.width);
    const Tensor array = io::read_npy(path);
    const Shape& s = array.shape();
    MG_CHECK(array.dtype() == DType::UInt8 && (array.dim() == 3 || array.dim() == 4),
             "npy: '{}': images must be uint8 [N, H, W], [N, H, W, C] or [N, C, H, W], got {} {}", path,
             array.dtype(), s);
    bool channels_last = true;
    if (array.dim() == 4) {
        const bool last = is_channel_count(s[3]), first = is_channel_count(s[1]);
        if (layout == NpyLayout::automatic) {
            MG_CHECK(last || first, "npy: '{}': shape {} has no channel axis of 1, 3 or 4", path, s);
            MG_CHECK(!(last && first), "npy: '{}': shape {} could be [N, H, W, C] or [N, C, H, W]; add layout=nhwc "
                     "or layout=nchw", path, s);
            channels_last = last;
        } else {
            channels_last = layout == NpyLayout::nhwc;
            MG_CHECK(channels_last ? last : first, "npy: '{}': shape {} has no channel axis of 1, 3 or 4 where layout={} "
                     "puts it", path, s, channels_last ? "nhwc" : "nchw");
        }
    }
    const int64_t n = s[0], c = array.dim() == 3 ? 1 : (channels_last ? s[3] : s[1]);
    const int64_t h = array.dim() == 3 ? s[1] : (channels_last ? s[1] : s[2]);
    const int64_t w = array.dim() == 3 ? s[2] : (channels_last ? s[2] : s[3]);
    MG_CHECK(n >= 1 && h >= 1 && w >= 1, "npy: '{}': shape {} holds no images", path, s);

    std::vector<int32_t> labels(size_t(n), 0);
    std::vector<std::string> classes = {""};
    if (!labels_path.empty()) {
        const Tensor l = io::read_npy(labels_path);
        MG_CHECK((l.dtype() == DType::Int64 || l.dtype() == DType::UInt8) && l.dim() == 1 && l.size(0) == n,
                 "npy: labels '{}': expected int64 or uint8 [{}] for the images of '{}', got {} {}", labels_path, n,
                 path, l.dtype(), l.shape());
        const std::vector<int64_t> v = l.to(DType::Int64).to_vector<int64_t>();
        int64_t top = 0;
        for (size_t i = 0; i < v.size(); ++i) {
            MG_CHECK(v[i] >= 0 && v[i] < (int64_t(1) << 31), "npy: labels '{}': label {} of image {} is outside "
                     "[0, 2^31)", labels_path, v[i], i);
            MG_CHECK(v[i] < 1'000'000, "npy: labels '{}': label {} of image {}: more than a million classes",
                     labels_path, v[i], i);
            labels[i] = int32_t(v[i]);
            top = std::max(top, v[i]);
        }
        classes.clear();
        for (int64_t k = 0; k <= top; ++k) classes.push_back(std::to_string(k));
    }

    const int64_t C = options.channels, H = options.height, W = options.width, bytes = C * H * W;
    std::vector<uint8_t> pixels(size_t(n * bytes));
    const uint8_t* data = array.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
        io::ImageU8 im = to_channels(image_at(data, i, h, w, c, channels_last), C, options.background);
        if (h != H || w != W) im = fit_to(im, H, W, options.filter, options.fit);
        for (int64_t p = 0; p < H * W; ++p)
            for (int64_t ch = 0; ch < C; ++ch) pixels[size_t(i * bytes + ch * H * W + p)] = im.pixels[size_t(p * C + ch)];
    }
    return packed_images_in_memory(std::move(pixels), std::move(labels), std::move(classes), C, H, W, "npy:" + path);
}

}  // namespace mg::data
