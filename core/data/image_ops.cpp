#include "core/data/image_ops.h"

#include <algorithm>

#include "kernels/base.h"

namespace mg::data {
namespace {

// The index that `i` (maybe outside 0..n-1) reads from under `mode` (not constant).
int64_t source_index(int64_t i, int64_t n, PadMode mode) {
    if (mode == PadMode::edge) return std::clamp<int64_t>(i, 0, n - 1);
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);  // reflect: 0 1 2 1 0 1 2 ...
    int64_t m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
}

}  // namespace

io::ImageU8 crop(const io::ImageU8& image, int64_t top, int64_t left, int64_t h, int64_t w) {
    MG_CHECK(h >= 1 && w >= 1 && top >= 0 && left >= 0 && top + h <= image.height && left + w <= image.width,
             "crop: a {}x{} window at ({}, {}) does not fit in a {}x{} image", h, w, top, left, image.height,
             image.width);
    const int64_t C = image.channels;
    io::ImageU8 out{h, w, C, std::vector<uint8_t>(size_t(h * w * C))};
    for (int64_t y = 0; y < h; ++y) std::copy_n(image.row(top + y) + left * C, w * C, out.row(y));
    return out;
}

io::ImageU8 center_crop(const io::ImageU8& image, int64_t h, int64_t w) {
    MG_CHECK(h <= image.height && w <= image.width, "center_crop: {}x{} is larger than the {}x{} image", h, w,
             image.height, image.width);
    return crop(image, (image.height - h) / 2, (image.width - w) / 2, h, w);
}

io::ImageU8 random_crop(const io::ImageU8& image, int64_t h, int64_t w, RandomStream& random) {
    MG_CHECK(h >= 1 && w >= 1 && h <= image.height && w <= image.width,
             "random_crop: {}x{} does not fit in the {}x{} image", h, w, image.height, image.width);
    const int64_t top = int64_t(random.below(uint64_t(image.height - h + 1)));
    const int64_t left = int64_t(random.below(uint64_t(image.width - w + 1)));
    return crop(image, top, left, h, w);
}

io::ImageU8 pad(const io::ImageU8& image, int64_t top, int64_t bottom, int64_t left, int64_t right, PadMode mode,
                io::Rgb fill) {
    const int64_t H = image.height, W = image.width, C = image.channels;
    MG_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0 && std::max({top, bottom, left, right}) <= (1 << 15),
             "pad: padding {} {} {} {} (top bottom left right) must lie in 0..32768", top, bottom, left, right);
    MG_CHECK(H >= 1 && W >= 1 && C >= 1 && C <= 3, "pad: an image of {}x{}x{}", H, W, C);
    if (mode == PadMode::reflect)
        MG_CHECK(std::max(top, bottom) < H && std::max(left, right) < W,
                 "pad: reflect padding {} {} {} {} must be smaller than the {}x{} image", top, bottom, left, right, H, W);
    const int64_t oh = H + top + bottom, ow = W + left + right;
    io::ImageU8 out{oh, ow, C, std::vector<uint8_t>(size_t(oh * ow * C))};
    for (int64_t y = 0; y < oh; ++y) {
        uint8_t* dst = out.row(y);
        const int64_t sy = y - top;
        for (int64_t x = 0; x < ow; ++x) {
            const int64_t sx = x - left;
            const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
            if (!inside && mode == PadMode::constant) {
                for (int64_t c = 0; c < C; ++c) dst[x * C + c] = fill[size_t(c)];
                continue;
            }
            const uint8_t* src = image.row(source_index(sy, H, mode)) + source_index(sx, W, mode) * C;
            std::copy_n(src, C, dst + x * C);
        }
    }
    return out;
}

io::ImageU8 hflip(const io::ImageU8& image) {
    const int64_t W = image.width, C = image.channels;
    io::ImageU8 out = image;
    for (int64_t y = 0; y < image.height; ++y) {
        const uint8_t* src = image.row(y);
        uint8_t* dst = out.row(y);
        for (int64_t x = 0; x < W; ++x) std::copy_n(src + (W - 1 - x) * C, C, dst + x * C);
    }
    return out;
}

io::ImageU8 fit_to(const io::ImageU8& image, int64_t height, int64_t width, ResizeFilter filter, Fit fit) {
    const int64_t H = image.height, W = image.width;
    if (fit == Fit::stretch || H * width == W * height) return resize(image, height, width, filter);
    // cover: wider than the target -> height fits, width is cropped; else the reverse
    int64_t sh = height, sw = width;
    if (W * height > H * width) sw = std::max(width, (W * height + H / 2) / H);
    else sh = std::max(height, (H * width + W / 2) / W);
    return center_crop(resize(image, sh, sw, filter), height, width);
}

}  // namespace mg::data
