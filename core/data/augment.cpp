#include "core/data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::data {

namespace {

// Pillow's ImagingBlend (libImaging/Blend.c): computed in float, truncated, clipped.
inline uint8_t blend(uint8_t degenerate, uint8_t in, float factor) {
    const float v = float(int(degenerate)) + factor * float(int(in) - int(degenerate));
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return uint8_t(v);
}

// Blending with one grey level everywhere (black for brightness, the mean for contrast)
// depends on the byte alone: a table of the 256 results, then one lookup per byte.
void blend_with_level(const PixelsView& im, uint8_t level, double factor) {
    uint8_t table[256];
    for (int v = 0; v < 256; ++v) table[v] = blend(level, uint8_t(v), float(factor));
    const int64_t n = im.pixels * im.channels;
    for (int64_t i = 0; i < n; ++i) im.data[i] = table[im.data[i]];
}

// Calls f(r, g, b) with references to each pixel's three bytes, in either layout.
template <class F>
void for_each_rgb(const PixelsView& im, F&& f) {
    if (im.planar) {
        uint8_t *r = im.data, *g = r + im.pixels, *b = g + im.pixels;
        for (int64_t i = 0; i < im.pixels; ++i) f(r[i], g[i], b[i]);
    } else {
        uint8_t* p = im.data;
        for (int64_t i = 0; i < im.pixels; ++i, p += 3) f(p[0], p[1], p[2]);
    }
}

void check_factor(double factor, const char* op) {
    MG_CHECK(std::isfinite(factor) && factor >= 0.0, "{}: factor {} must be >= 0", op, factor);
}

// Pillow's rgb2hsv_row (libImaging/Convert.c), float and double where it uses them, without
// its libm calls (the hot loop of hue): h / 6 + 1 lies in [5/6, 11/6), where fmod(x, 1) is
// x - 1 from 1 on, exactly.
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
    const double turn = h / 6.0 + 1.0;
    h = float(turn >= 1.0 ? turn - 1.0 : turn);
    out[0] = uint8_t(std::clamp(int(h * 255.0), 0, 255));
    out[1] = uint8_t(std::clamp(int(s * 255.0), 0, 255));
}

// std::round of x >= 0 (half away from zero) without the libm call: x - trunc(x) is exact.
inline int round_non_negative(double x) {
    const int t = int(x);
    return x - double(t) >= 0.5 ? t + 1 : t;
}

// What hsv2rgb computes from h alone (its sector and the fraction in it) and from s alone,
// for each byte value: the same expressions, once. Floor of a non-negative value is the truncation.
struct HsvTables {
    int sector[256];
    float fraction[256], saturation[256];
    HsvTables() {
        for (int x = 0; x < 256; ++x) {
            sector[x] = int(float(x) * 6.0 / 255.0);
            fraction[x] = float(float(x) * 6.0 / 255.0 - float(sector[x]));
            saturation[x] = float(float(x) / 255.0);
        }
    }
};
const HsvTables kHsv;

// Pillow's hsv2rgb.
void hsv_to_rgb(const uint8_t* in, uint8_t* out) {
    const uint8_t h = in[0], s = in[1], v = in[2];
    if (s == 0) {
        out[0] = out[1] = out[2] = v;
        return;
    }
    const int i = kHsv.sector[h];
    const float f = kHsv.fraction[h], fs = kHsv.saturation[s];
    const auto clip = [](double x) { return uint8_t(std::clamp(round_non_negative(x), 0, 255)); };  // x >= 0
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

namespace {

constexpr double kMaxJitter = 10.0;  // brightness, contrast, saturation: factors up to 1 + 10

void brightness_in_place(const PixelsView& im, double factor) { blend_with_level(im, 0, factor); }

void contrast_in_place(const PixelsView& im, double factor) {
    int64_t sum = 0;  // of the grey levels (io::luma), as Pillow's ImageStat of convert("L")
    if (im.channels == 1)
        for (int64_t i = 0; i < im.pixels; ++i) sum += im.data[i];
    else
        for_each_rgb(im, [&](uint8_t r, uint8_t g, uint8_t b) { sum += io::luma(r, g, b); });
    const int level = int(double(sum) / double(im.pixels) + 0.5);  // Pillow: int(mean + 0.5)
    blend_with_level(im, uint8_t(level), factor);
}

void saturation_in_place(const PixelsView& im, double factor) {
    if (im.channels == 1) return;
    const float f = float(factor);
    for_each_rgb(im, [f](uint8_t& r, uint8_t& g, uint8_t& b) {
        const uint8_t grey = io::luma(r, g, b);
        r = blend(grey, r, f), g = blend(grey, g, f), b = blend(grey, b, f);
    });
}

void hue_in_place(const PixelsView& im, double hue) {
    if (im.channels == 1) return;
    const uint8_t shift = uint8_t(int64_t(hue * 255.0) & 255);  // numpy's uint8 wrap of trunc(hue * 255)
    for_each_rgb(im, [shift](uint8_t& r, uint8_t& g, uint8_t& b) {
        const uint8_t rgb[3] = {r, g, b};
        uint8_t hsv[3], out[3];
        rgb_to_hsv(rgb, hsv);
        hsv[0] = uint8_t(hsv[0] + shift);
        hsv_to_rgb(hsv, out);
        r = out[0], g = out[1], b = out[2];
    });
}

PixelsView view_of(io::ImageU8& image) { return {image.pixels.data(), image.height * image.width, image.channels, false}; }

// A copy of `image` with `op` applied in place.
template <class Op>
io::ImageU8 adjusted(const io::ImageU8& image, Op&& op) {
    io::ImageU8 out = image;
    op(view_of(out));
    return out;
}

}  // namespace

io::ImageU8 adjust_brightness(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_brightness");
    check_factor(factor, "adjust_brightness");
    return adjusted(image, [&](const PixelsView& v) { brightness_in_place(v, factor); });
}

io::ImageU8 adjust_contrast(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_contrast");
    check_factor(factor, "adjust_contrast");
    return adjusted(image, [&](const PixelsView& v) { contrast_in_place(v, factor); });
}

io::ImageU8 adjust_saturation(const io::ImageU8& image, double factor) {
    check_grey_or_rgb(image, "adjust_saturation");
    check_factor(factor, "adjust_saturation");
    return adjusted(image, [&](const PixelsView& v) { saturation_in_place(v, factor); });
}

io::ImageU8 adjust_hue(const io::ImageU8& image, double hue) {
    check_grey_or_rgb(image, "adjust_hue");
    MG_CHECK(hue >= -0.5 && hue <= 0.5, "adjust_hue: hue {} is outside [-0.5, 0.5]", hue);
    return adjusted(image, [&](const PixelsView& v) { hue_in_place(v, hue); });
}

void check_color_jitter(const ColorJitter& j, const std::string& what) {
    const auto amount_ok = [](double a) { return a >= 0 && a <= kMaxJitter; };  // false for NaN
    MG_CHECK(amount_ok(j.brightness) && amount_ok(j.contrast) && amount_ok(j.saturation) && j.hue >= 0 && j.hue <= 0.5,
             "{}: brightness {}, contrast {}, saturation {} must be in [0, {}] and hue {} in [0, 0.5]", what,
             j.brightness, j.contrast, j.saturation, kMaxJitter, j.hue);
}

JitterDraw draw_color_jitter(const ColorJitter& j, RandomStream& random) {
    check_color_jitter(j, "color_jitter");
    // torchvision's order: a random permutation of the four, then each factor drawn.
    JitterDraw d;
    for (int i = 3; i > 0; --i) std::swap(d.order[i], d.order[random.below(uint64_t(i + 1))]);
    const double amounts[4] = {j.brightness, j.contrast, j.saturation, j.hue};
    for (int op : d.order) {
        const double amount = amounts[op];
        d.enabled[op] = amount > 0;
        if (!d.enabled[op]) continue;
        if (op == 3) {
            d.value[op] = -amount + 2.0 * amount * random.uniform();
        } else {  // uniform in [max(0, 1 - amount), 1 + amount]
            const double low = std::max(0.0, 1.0 - amount);
            d.value[op] = low + random.uniform() * (1.0 + amount - low);
        }
    }
    return d;
}

void apply_color_jitter(const PixelsView& image, const JitterDraw& d) {
    for (int op : d.order) {
        if (!d.enabled[op]) continue;
        switch (op) {
            case 0: brightness_in_place(image, d.value[op]); break;
            case 1: contrast_in_place(image, d.value[op]); break;
            case 2: saturation_in_place(image, d.value[op]); break;
            default: hue_in_place(image, d.value[op]); break;
        }
    }
}

io::ImageU8 color_jitter(const io::ImageU8& image, const ColorJitter& j, RandomStream& random) {
    const JitterDraw d = draw_color_jitter(j, random);
    if (j.any()) check_grey_or_rgb(image, "color_jitter");
    return adjusted(image, [&](const PixelsView& v) { apply_color_jitter(v, d); });
}

ColorJitter parse_color_jitter(const std::string& text, const std::string& what) {
    if (text.empty()) return {};
    const std::string shown = io::quote_short(text);
    std::vector<double> values;
    for (size_t begin = 0; begin <= text.size();) {
        const size_t comma = std::min(text.find(',', begin), text.size());
        const std::string piece = text.substr(begin, comma - begin);
        char* end = nullptr;
        const double v = piece.empty() ? 0.0 : std::strtod(piece.c_str(), &end);
        MG_CHECK(!piece.empty() && end == piece.c_str() + piece.size() && std::isfinite(v),
                 "{} {}: {} is not a number (expected B,C,S,H or one number, e.g. 0.2,0.2,0.2,0.05)", what, shown,
                 io::quote_short(piece));
        MG_CHECK(values.size() < 4, "{} {}: more than four numbers (brightness, contrast, saturation, hue)", what, shown);
        values.push_back(v);
        begin = comma + 1;
    }
    MG_CHECK(values.size() == 1 || values.size() == 4,
             "{} {}: expected one number (brightness, contrast and saturation) or four (B,C,S,H), got {}", what,
             shown, values.size());
    const ColorJitter j = values.size() == 1 ? ColorJitter{values[0], values[0], values[0], 0.0}
                                             : ColorJitter{values[0], values[1], values[2], values[3]};
    check_color_jitter(j, what + " " + shown);
    return j;
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
