#include "core/data/augment.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/base.h"

namespace mg::data {

namespace {

// Pillow's ImagingBlend (libImaging/Blend.c): computed in float, truncated, clipped.
uint8_t blend(uint8_t degenerate, uint8_t in, float factor) {
    const float v = float(int(degenerate)) + factor * float(int(in) - int(degenerate));
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return uint8_t(v);
}

io::ImageU8 blend_with(const io::ImageU8& image, const io::ImageU8& degenerate, double factor) {
    io::ImageU8 out = image;
    const float f = float(factor);
    for (size_t i = 0; i < out.pixels.size(); ++i) out.pixels[i] = blend(degenerate.pixels[i], image.pixels[i], f);
    return out;
}

void check_factor(double factor, const char* op) {
    MG_CHECK(std::isfinite(factor) && factor >= 0.0, "{}: factor {} must be >= 0", op, factor);
}

// Pillow's rgb2hsv_row (libImaging/Convert.c), float and double where it uses them.
void rgb_to_hsv(const uint8_t* in, uint8_t* out) {
    const uint8_t r = in[0], g = in[1], b = in[2];
    const uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
    out[2] = maxc;
    if (minc == maxc) {
        out[0] = out[1] = 0;
        return;
    }
    const float cr = float(maxc - minc);
    const float s = cr / float(maxc);
    const float rc = float(maxc - r) / cr, gc = float(maxc - g) / cr, bc = float(maxc - b) / cr;
    float h;
    if (r == maxc) h = bc - gc;
    else if (g == maxc) h = float(2.0 + rc - bc);
    else h = float(4.0 + gc - rc);
    h = float(std::fmod(h / 6.0 + 1.0, 1.0));
    out[0] = uint8_t(std::clamp(int(h * 255.0), 0, 255));
    out[1] = uint8_t(std::clamp(int(s * 255.0), 0, 255));
}

// Pillow's hsv2rgb.
void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
    const uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = v;
        return;
    }
    const int i = int(std::floor(float(h) * 6.0 / 255.0));
    const float f = float(float(h) * 6.0 / 255.0 - float(i));
    const float fs = float(float(s) / 255.0);
    const auto clip = [](double x) { return uint8_t(std::clamp(int(std::round(x)), 0, 255)); };
    const uint8_t p = clip(float(v) * (1.0 - fs)), q = clip(float(v) * (1.0 - fs * f)),
                  t = clip(float(v) * (1.0 - fs * (1.0 - f)));
    switch (i % 6) {
        case 0: out[0] = v, out[1] = t, out[2] = p; break;
        case 1: out[0] = q, out[1] = v, out[2] = p; break;
        case 2: out[0] = p, out[1] = v, out[2] = t; break;
        case 3: out[0] = p, out[1] = q, out[2] = v; break;
        case 4: out[0] = t, out[1] = p, out[2] = v; break;
        default: out[0] = v, out[1] = p, out[2] = q; break;
    }
}

uint8_t fill_value(const io::ImageU8& image, io::Rgb fill, int64_t c) { return image.channels == 1 ? fill[0] : fill[size_t(c)]; }

}  // namespace

void check_grey_or_rgb(const io::ImageU8& image, const char* op) {
    MG_CHECK((image.channels == 1 || image.channels == 3) && image.height >= 1 && image.width >= 1 &&
                 image.pixels.size() == size_t(image.height * image.width * image.channels),
             "{}: expected a grey or RGB image, got {}x{}x{} with {} bytes", op, image.height, image.width,
             image.channels, image.pixels.size());
}

io::ImageU8 adjust_brightness(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_brightness");
    check_factor(factor, "adjust_brightness");
    io::ImageU8 black = image;
    std::fill(black.pixels.begin(), black.pixels.end(), uint8_t(0));
    return blend_with(image, black, factor);
}

io::ImageU8 adjust_contrast(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_contrast");
    check_factor(factor, "adjust_contrast");
    const io::ImageU8 grey = to_grey(image);
    const double sum = std::accumulate(grey.pixels.begin(), grey.pixels.end(), 0.0);
    const int level = int(sum / double(grey.pixels.size()) + 0.5);  // Pillow: int(ImageStat mean + 0.5)
    io::ImageU8 degenerate = image;
    std::fill(degenerate.pixels.begin(), degenerate.pixels.end(), uint8_t(level));
    return blend_with(image, degenerate, factor);
}

io::ImageU8 adjust_saturation(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_saturation");
    check_factor(factor, "adjust_saturation");
    if (image.channels == 1) return image;
    return blend_with(image, to_rgb(to_grey(image)), factor);
}

io::ImageU8 adjust_hue(const io::ImageU8& image, double hue) {
    check_grey_or_rgb(image, "adjust_hue");
    MG_CHECK(hue >= -0.5 && hue <= 0.5, "adjust_hue: hue {} is outside [-0.5, 0.5]", hue);
    if (image.channels == 1) return image;
    const uint8_t shift = uint8_t(int64_t(hue * 255.0) & 255);  // numpy's uint8 wrap of trunc(hue * 255)
    io::ImageU8 out = image;
    for (size_t i = 0; i < out.pixels.size(); i += 3) {
        uint8_t hsv[3];
        rgb_to_hsv(&image.pixels[i], hsv);
        hsv[0] = uint8_t(hsv[0] + shift);
        hsv_to_rgb(hsv, &out.pixels[i]);
    }
    return out;
}

io::ImageU8 color_jitter(const io::ImageU8& image, const ColorJitter& j, RandomStream& random) {
    MG_CHECK(j.brightness >= 0 && j.contrast >= 0 && j.saturation >= 0 && j.hue >= 0 && j.hue <= 0.5,
             "color_jitter: brightness {}, contrast {}, saturation {} must be >= 0 and hue {} in [0, 0.5]",
             j.brightness, j.contrast, j.saturation, j.hue);
    // torchvision's order: a random permutation of the four, then each factor drawn.
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[random.below(uint64_t(i + 1))]);
    const auto factor = [&](double amount) {  // uniform in [max(0, 1 - amount), 1 + amount]
        const double low = std::max(0.0, 1.0 - amount);
        return low + random.uniform() * (1.0 + amount - low);
    };
    io::ImageU8 out = image;
    for (int op : order) {
        if (op == 0 && j.brightness > 0) out = adjust_brightness(out, factor(j.brightness));
        if (op == 1 && j.contrast > 0) out = adjust_contrast(out, factor(j.contrast));
        if (op == 2 && j.saturation > 0) out = adjust_saturation(out, factor(j.saturation));
        if (op == 3 && j.hue > 0) out = adjust_hue(out, -j.hue + 2.0 * j.hue * random.uniform());
    }
    return out;
}

io::ImageU8 translate(const io::ImageU8& image, int64_t dy, int64_t dx, io::Rgb fill) {
    check_grey_or_rgb(image, "translate");
    io::ImageU8 out = image;
    const int64_t C = image.channels;
    for (int64_t y = 0; y < image.height; ++y)
        for (int64_t x = 0; x < image.width; ++x) {
            const int64_t sy = y - dy, sx = x - dx;
            const bool inside = sy >= 0 && sy < image.height && sx >= 0 && sx < image.width;
            for (int64_t c = 0; c < C; ++c)
                out.row(y)[x * C + c] = inside ? image.row(sy)[sx * C + c] : fill_value(image, fill, c);
        }
    return out;
}

io::ImageU8 random_translate(const io::ImageU8& image, int64_t max_dy, int64_t max_dx, RandomStream& random,
                             io::Rgb fill) {
    MG_CHECK(max_dy >= 0 && max_dx >= 0, "random_translate: negative range {}, {}", max_dy, max_dx);
    const int64_t dy = int64_t(random.below(uint64_t(2 * max_dy + 1))) - max_dy;
    const int64_t dx = int64_t(random.below(uint64_t(2 * max_dx + 1))) - max_dx;
    return translate(image, dy, dx, fill);
}

io::ImageU8 cutout(const io::ImageU8& image, int64_t top, int64_t left, int64_t h, int64_t w, io::Rgb fill) {
    check_grey_or_rgb(image, "cutout");
    MG_CHECK(h >= 0 && w >= 0, "cutout: negative size {}x{}", h, w);
    io::ImageU8 out = image;
    const int64_t C = image.channels;
    for (int64_t y = std::max<int64_t>(top, 0); y < std::min(top + h, image.height); ++y)
        for (int64_t x = std::max<int64_t>(left, 0); x < std::min(left + w, image.width); ++x)
            for (int64_t c = 0; c < C; ++c) out.row(y)[x * C + c] = fill_value(image, fill, c);
    return out;
}

io::ImageU8 random_cutout(const io::ImageU8& image, int64_t size, RandomStream& random, io::Rgb fill) {
    check_grey_or_rgb(image, "random_cutout");
    const int64_t cy = int64_t(random.below(uint64_t(image.height)));
    const int64_t cx = int64_t(random.below(uint64_t(image.width)));
    return cutout(image, cy - size / 2, cx - size / 2, size, size, fill);
}

io::ImageU8 to_grey(const io::ImageU8& image) {
    check_grey_or_rgb(image, "to_grey");
    if (image.channels == 1) return image;
    io::ImageU8 out{image.height, image.width, 1, std::vector<uint8_t>(size_t(image.height * image.width))};
    for (size_t i = 0; i < out.pixels.size(); ++i)
        out.pixels[i] = io::luma(image.pixels[3 * i], image.pixels[3 * i + 1], image.pixels[3 * i + 2]);
    return out;
}

io::ImageU8 to_rgb(const io::ImageU8& image) {
    check_grey_or_rgb(image, "to_rgb");
    if (image.channels == 3) return image;
    io::ImageU8 out{image.height, image.width, 3, std::vector<uint8_t>(image.pixels.size() * 3)};
    for (size_t i = 0; i < image.pixels.size(); ++i) out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = image.pixels[i];
    return out;
}

namespace {

// scale[c], shift[c] with y = x * scale + shift == (x / 255 - mean) / std.
void normalize_coefficients(const Normalize& nz, int64_t c, std::vector<float>& scale, std::vector<float>& shift) {
    const auto pick = [&](const std::vector<double>& v, int64_t i, const char* what) {
        MG_CHECK(v.size() == 1 || int64_t(v.size()) == c, "normalize: {} {} values for {} channels", v.size(), what, c);
        return v.size() == 1 ? v[0] : v[size_t(i)];
    };
    for (int64_t i = 0; i < c; ++i) {
        const double m = pick(nz.mean, i, "mean"), s = pick(nz.std, i, "std");
        MG_CHECK(std::isfinite(m) && std::isfinite(s) && s > 0, "normalize: mean {} and std {} (std must be > 0)", m, s);
        scale.push_back(float(1.0 / (255.0 * s)));
        shift.push_back(float(-m / s));
    }
}

}  // namespace

Tensor packed_to_batch(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w, const Normalize& normalize) {
    std::vector<float> scale, shift;
    normalize_coefficients(normalize, c, scale, shift);
    Tensor out = empty({n, c, h, w});
    float* y = out.data<float>();
    const int64_t plane = h * w;
    for (int64_t i = 0; i < n * c; ++i)
        for (int64_t p = 0; p < plane; ++p)
            y[i * plane + p] = float(pixels[i * plane + p]) * scale[size_t(i % c)] + shift[size_t(i % c)];
    return out;
}

Tensor images_to_batch(const std::vector<io::ImageU8>& images, const Normalize& normalize) {
    MG_CHECK(!images.empty(), "images_to_batch: no images");
    const int64_t h = images[0].height, w = images[0].width, c = images[0].channels;
    std::vector<uint8_t> chw(images.size() * size_t(c * h * w));
    for (size_t i = 0; i < images.size(); ++i) {
        const io::ImageU8& im = images[i];
        MG_CHECK(im.height == h && im.width == w && im.channels == c && im.pixels.size() == size_t(h * w * c),
                 "images_to_batch: image {} is {}x{}x{}, image 0 is {}x{}x{}", i, im.height, im.width, im.channels, h, w, c);
        for (int64_t p = 0; p < h * w; ++p)
            for (int64_t ch = 0; ch < c; ++ch) chw[i * size_t(c * h * w) + size_t(ch * h * w + p)] = im.pixels[size_t(p * c + ch)];
    }
    return packed_to_batch(chw.data(), int64_t(images.size()), c, h, w, normalize);
}

}  // namespace mg::data
