#include "core/data/postprocess.h"

#include <algorithm>
#include <cmath>

#include "core/data/augment.h"
#include "kernels/base.h"

namespace mg::data {

namespace {

int64_t clamp_index(int64_t i, int64_t n) { return std::clamp<int64_t>(i, 0, n - 1); }

// Pillow's _gaussian_blur_radius (libImaging/BoxBlur.c): the extended box radius whose
// `passes` box blurs have the variance of a Gaussian of this radius, in float as there.
float box_radius(float radius, int passes) {
    const float sigma2 = radius * radius / float(passes);
    const float L = float(std::sqrt(12.0 * sigma2 + 1.0));
    const float l = float(std::floor((L - 1.0) / 2.0));
    float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
    a /= 6 * (sigma2 - (l + 1) * (l + 1));
    return l + a;
}

// Pillow's ImagingLineBoxBlur: one pass of an extended box of radius r + fraction along a
// line of n values `stride` apart (edges repeated), 24-bit fixed point.
void box_blur_line(uint8_t* line, int64_t n, int64_t stride, float radius, std::vector<uint8_t>& tmp) {
    const int64_t r = int64_t(radius);
    const uint32_t ww = uint32_t(float(1 << 24) / (radius * 2 + 1));
    const uint32_t fw = ((1u << 24) - uint32_t(r * 2 + 1) * ww) / 2;
    tmp.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) tmp[size_t(i)] = line[i * stride];
    const auto at = [&](int64_t i) { return uint32_t(tmp[size_t(clamp_index(i, n))]); };
    uint32_t acc = 0;
    for (int64_t k = -r; k <= r; ++k) acc += at(k);
    for (int64_t x = 0; x < n; ++x) {
        if (x > 0) acc += at(x + r) - at(x - r - 1);
        const uint32_t bulk = acc * ww + (at(x - r - 1) + at(x + r + 1)) * fw;
        line[x * stride] = uint8_t((bulk + (1u << 23)) >> 24);
    }
}

}  // namespace

io::ImageU8 median_filter(const io::ImageU8& image, int64_t size) {
    check_grey_or_rgb(image, "median_filter");
    MG_CHECK(size >= 1 && size <= 15 && size % 2 == 1, "median_filter: size {} must be odd, 1..15", size);
    io::ImageU8 out = image;
    const int64_t C = image.channels, half = size / 2;
    std::vector<uint8_t> window(size_t(size * size));
    for (int64_t y = 0; y < image.height; ++y)
        for (int64_t x = 0; x < image.width; ++x)
            for (int64_t c = 0; c < C; ++c) {
                size_t k = 0;
                for (int64_t dy = -half; dy <= half; ++dy)
                    for (int64_t dx = -half; dx <= half; ++dx)
                        window[k++] = image.row(clamp_index(y + dy, image.height))[clamp_index(x + dx, image.width) * C + c];
                std::nth_element(window.begin(), window.begin() + long(k / 2), window.end());
                out.row(y)[x * C + c] = window[k / 2];
            }
    return out;
}

io::ImageU8 bilateral_filter(const io::ImageU8& image, double sigma_space, double sigma_color) {
    check_grey_or_rgb(image, "bilateral_filter");
    MG_CHECK(sigma_space > 0 && sigma_space <= 16 && sigma_color > 0 && std::isfinite(sigma_color),
             "bilateral_filter: sigma_space {} must be in (0, 16] and sigma_color {} > 0", sigma_space, sigma_color);
    const int64_t C = image.channels, r = int64_t(std::ceil(2.0 * sigma_space));
    const double ks = -0.5 / (sigma_space * sigma_space), kc = -0.5 / (sigma_color * sigma_color);
    io::ImageU8 out = image;
    std::vector<double> sum(static_cast<size_t>(C));
    for (int64_t y = 0; y < image.height; ++y)
        for (int64_t x = 0; x < image.width; ++x) {
            const uint8_t* centre = image.row(y) + x * C;
            std::fill(sum.begin(), sum.end(), 0.0);
            double total = 0.0;
            for (int64_t dy = -r; dy <= r; ++dy)
                for (int64_t dx = -r; dx <= r; ++dx) {
                    const uint8_t* p = image.row(clamp_index(y + dy, image.height)) + clamp_index(x + dx, image.width) * C;
                    double d2 = 0.0;
                    for (int64_t c = 0; c < C; ++c) d2 += double(p[c] - centre[c]) * double(p[c] - centre[c]);
                    const double wgt = std::exp(ks * double(dy * dy + dx * dx) + kc * d2);
                    total += wgt;
                    for (int64_t c = 0; c < C; ++c) sum[size_t(c)] += wgt * p[c];
                }
            for (int64_t c = 0; c < C; ++c)
                out.row(y)[x * C + c] = uint8_t(std::clamp(std::lround(sum[size_t(c)] / total), 0L, 255L));
        }
    return out;
}

io::ImageU8 gaussian_blur(const io::ImageU8& image, double radius) {
    check_grey_or_rgb(image, "gaussian_blur");
    MG_CHECK(radius >= 0 && radius <= 256, "gaussian_blur: radius {} is outside [0, 256]", radius);
    io::ImageU8 out = image;
    if (radius == 0) return out;
    const int passes = 3;
    const float r = box_radius(float(radius), passes);
    const int64_t C = image.channels, H = image.height, W = image.width;
    std::vector<uint8_t> tmp;
    for (int p = 0; p < passes; ++p)  // Pillow: all horizontal passes, then all vertical ones
        for (int64_t y = 0; y < H; ++y)
            for (int64_t c = 0; c < C; ++c) box_blur_line(out.row(y) + c, W, C, r, tmp);
    for (int p = 0; p < passes; ++p)
        for (int64_t x = 0; x < W; ++x)
            for (int64_t c = 0; c < C; ++c) box_blur_line(out.pixels.data() + x * C + c, H, W * C, r, tmp);
    return out;
}

io::ImageU8 unsharp_mask(const io::ImageU8& image, double radius, int percent, int threshold) {
    check_grey_or_rgb(image, "unsharp_mask");
    MG_CHECK(percent >= 0 && percent <= 10000 && threshold >= 0, "unsharp_mask: percent {} (0..10000) and threshold {} (>= 0)",
             percent, threshold);
    io::ImageU8 out = gaussian_blur(image, radius);
    for (size_t i = 0; i < out.pixels.size(); ++i) {
        const int in = image.pixels[i], diff = in - int(out.pixels[i]);
        out.pixels[i] = std::abs(diff) > threshold ? uint8_t(std::clamp(in + diff * percent / 100, 0, 255)) : uint8_t(in);
    }
    return out;
}

ChannelHistograms channel_histograms(const std::vector<io::ImageU8>& images) {
    MG_CHECK(!images.empty(), "channel_histograms: no images");
    ChannelHistograms h;
    h.channels = images[0].channels;
    h.counts.assign(size_t(h.channels), {});
    for (const io::ImageU8& im : images) {
        check_grey_or_rgb(im, "channel_histograms");
        MG_CHECK(im.channels == h.channels, "channel_histograms: images with {} and {} channels", h.channels, im.channels);
        for (size_t i = 0; i < im.pixels.size(); ++i) ++h.counts[i % size_t(h.channels)][im.pixels[i]];
    }
    return h;
}

ChannelHistograms channel_histograms(const uint8_t* pixels, int64_t n, int64_t c, int64_t h, int64_t w) {
    MG_CHECK(n >= 1 && c >= 1 && h >= 1 && w >= 1, "channel_histograms: {} images of {}x{}x{}", n, c, h, w);
    ChannelHistograms out;
    out.channels = c;
    out.counts.assign(size_t(c), {});
    const int64_t plane = h * w;
    for (int64_t i = 0; i < n * c; ++i)
        for (int64_t p = 0; p < plane; ++p) ++out.counts[size_t(i % c)][pixels[i * plane + p]];
    return out;
}

io::ImageU8 match_histograms(const io::ImageU8& image, const ChannelHistograms& reference) {
    check_grey_or_rgb(image, "match_histograms");
    MG_CHECK(reference.channels == image.channels && int64_t(reference.counts.size()) == image.channels,
             "match_histograms: the image has {} channels, the reference {}", image.channels, reference.channels);
    const ChannelHistograms own = channel_histograms(std::vector<io::ImageU8>{image});
    io::ImageU8 out = image;
    for (int64_t c = 0; c < image.channels; ++c) {
        const auto& ref = reference.counts[size_t(c)];
        const auto& src = own.counts[size_t(c)];
        uint64_t ref_total = 0, src_total = 0;
        for (int v = 0; v < 256; ++v) ref_total += ref[size_t(v)], src_total += src[size_t(v)];
        MG_CHECK(ref_total > 0, "match_histograms: the reference has no pixels");
        // CDFs compared exactly as fractions: src_cum / src_total <= ref_cum / ref_total.
        std::array<uint8_t, 256> map{};
        uint64_t src_cum = 0, ref_cum = ref[0];
        int u = 0;
        for (int v = 0; v < 256; ++v) {
            src_cum += src[size_t(v)];
            while (u < 255 && (unsigned __int128)ref_cum * src_total < (unsigned __int128)src_cum * ref_total)
                ref_cum += ref[size_t(++u)];
            map[size_t(v)] = uint8_t(u);
        }
        for (size_t i = size_t(c); i < out.pixels.size(); i += size_t(image.channels)) out.pixels[i] = map[image.pixels[i]];
    }
    return out;
}

io::ImageU8 grey_world(const io::ImageU8& image) {
    check_grey_or_rgb(image, "grey_world");
    const int64_t C = image.channels;
    std::vector<double> mean(size_t(C), 0.0);
    for (size_t i = 0; i < image.pixels.size(); ++i) mean[i % size_t(C)] += image.pixels[i];
    double grey = 0.0;
    for (double& m : mean) grey += (m /= double(image.height * image.width)) / double(C);
    io::ImageU8 out = image;
    for (size_t i = 0; i < out.pixels.size(); ++i) {
        const double m = mean[i % size_t(C)];
        const double v = m > 0 ? image.pixels[i] * grey / m : grey;
        out.pixels[i] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
    }
    return out;
}

io::ImageU8 upscale(const io::ImageU8& image, int64_t factor, ResizeFilter filter) {
    check_grey_or_rgb(image, "upscale");
    MG_CHECK(factor >= 1 && factor <= 64, "upscale: factor {} is outside 1..64", factor);
    return resize(image, image.height * factor, image.width * factor, filter);
}

std::vector<io::ImageU8> batch_to_images(const Tensor& batch, double low, double high) {
    MG_CHECK(batch.dim() == 4 && (batch.size(1) == 1 || batch.size(1) == 3) && high > low,
             "batch_to_images: expected [N, 1 or 3, H, W] and low < high, got {} and [{}, {}]", batch.shape(), low, high);
    const int64_t n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
    const std::vector<double> v = batch.detach().to(Device::CPU).to(DType::Float64).contiguous().to_vector<double>();
    std::vector<io::ImageU8> out;
    for (int64_t i = 0; i < n; ++i) {
        io::ImageU8 im{h, w, c, std::vector<uint8_t>(size_t(h * w * c))};
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < h * w; ++p) {
                const double x = v[size_t((i * c + ch) * h * w + p)];
                MG_CHECK(!std::isnan(x), "batch_to_images: image {} has NaN", i);
                im.pixels[size_t(p * c + ch)] = uint8_t(std::clamp(std::round((x - low) / (high - low) * 255.0), 0.0, 255.0));
            }
        out.push_back(std::move(im));
    }
    return out;
}

}  // namespace mg::data
