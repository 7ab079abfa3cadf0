#include "core/data/resize.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::data {
namespace {

double box_kernel(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double bilinear_kernel(double x) {
    x = std::abs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}
double bicubic_kernel(double x) {  // Keys, a = -0.5
    constexpr double a = -0.5;
    x = std::abs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}
double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= std::numbers::pi;
    return std::sin(x) / x;
}
double lanczos_kernel(double x) { return (x >= -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

struct Kernel {
    double (*weight)(double);
    double support;
};

Kernel kernel_of(ResizeFilter filter) {
    switch (filter) {
        case ResizeFilter::box: return {box_kernel, 0.5};
        case ResizeFilter::bilinear: return {bilinear_kernel, 1.0};
        case ResizeFilter::bicubic: return {bicubic_kernel, 2.0};
        case ResizeFilter::lanczos: return {lanczos_kernel, 3.0};
        case ResizeFilter::nearest: break;
    }
    MG_FAIL("resize: nearest has no filter kernel");
}

constexpr int kPrecisionBits = 32 - 8 - 2;  // 8 bits of result, 2 for negative lobes and overshoot

// For each output pixel of one dimension: the first input pixel it reads, how many, and
// their weights in fixed point (`taps` per output pixel, unused ones 0).
struct Taps {
    int taps = 0;
    std::vector<int> first, count;
    std::vector<int32_t> weights;
};

Taps precompute_taps(int in_size, int out_size, Kernel kernel) {
    const double scale = double(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);  // stretch the kernel when downscaling
    const double support = kernel.support * filter_scale;
    Taps t;
    t.taps = int(std::ceil(support)) * 2 + 1;
    t.first.resize(size_t(out_size));
    t.count.resize(size_t(out_size));
    t.weights.assign(size_t(out_size) * size_t(t.taps), 0);
    std::vector<double> w(size_t(t.taps));
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        const int lo = std::max(int(center - support + 0.5), 0);
        const int hi = std::min(int(center + support + 0.5), in_size);
        const int n = std::min(hi - lo, t.taps);
        double sum = 0.0;
        for (int x = 0; x < n; ++x) {
            w[size_t(x)] = kernel.weight((x + lo - center + 0.5) / filter_scale);
            sum += w[size_t(x)];
        }
        int32_t* k = &t.weights[size_t(xx) * size_t(t.taps)];
        for (int x = 0; x < n; ++x) {
            const double v = (sum != 0.0 ? w[size_t(x)] / sum : w[size_t(x)]) * (1 << kPrecisionBits);
            k[x] = int32_t(v < 0 ? v - 0.5 : v + 0.5);  // round half away from zero
        }
        t.first[size_t(xx)] = lo;
        t.count[size_t(xx)] = n;
    }
    return t;
}

inline uint8_t clip8(int32_t sum) { return uint8_t(std::clamp(sum >> kPrecisionBits, 0, 255)); }

// rows [row0, row0 + rows) of `in` [*, in_w, C] -> out [rows, out_w, C]. C is a template
// argument for 1 and 3 channels (0: any, from `channels`), so the channel loop unrolls.
template <int kC>
void resample_rows(const uint8_t* in, int64_t in_w, int64_t channels, int64_t row0, int64_t rows, const Taps& t,
                   int64_t out_w, uint8_t* out) {
    const int64_t C = kC > 0 ? kC : channels;  // at most 4
    int32_t sum[4];
    for (int64_t y = 0; y < rows; ++y) {
        const uint8_t* src = in + (row0 + y) * in_w * C;
        uint8_t* dst = out + y * out_w * C;
        for (int64_t xx = 0; xx < out_w; ++xx) {
            const int32_t* k = &t.weights[size_t(xx) * size_t(t.taps)];
            const uint8_t* s = src + t.first[size_t(xx)] * C;
            const int n = t.count[size_t(xx)];
            for (int64_t c = 0; c < C; ++c) sum[c] = 1 << (kPrecisionBits - 1);
            for (int x = 0; x < n; ++x)
                for (int64_t c = 0; c < C; ++c) sum[c] += int32_t(s[x * C + c]) * k[x];
            for (int64_t c = 0; c < C; ++c) dst[xx * C + c] = clip8(sum[c]);
        }
    }
}

// in [*, row_len] starting at row `row0` -> out [out_h, row_len]
void resample_columns(const uint8_t* in, int64_t row_len, int64_t row0, const Taps& t, int64_t out_h, uint8_t* out) {
    std::vector<int32_t> sum(static_cast<size_t>(row_len));
    for (int64_t yy = 0; yy < out_h; ++yy) {
        std::fill(sum.begin(), sum.end(), 1 << (kPrecisionBits - 1));
        const int32_t* k = &t.weights[size_t(yy) * size_t(t.taps)];
        for (int y = 0; y < t.count[size_t(yy)]; ++y) {
            const uint8_t* src = in + (t.first[size_t(yy)] + y - row0) * row_len;
            for (int64_t i = 0; i < row_len; ++i) sum[size_t(i)] += int32_t(src[i]) * k[y];
        }
        for (int64_t i = 0; i < row_len; ++i) out[yy * row_len + i] = clip8(sum[size_t(i)]);
    }
}

// Pillow's affine scaling: the source coordinate of each output pixel, accumulated in double.
std::vector<int64_t> nearest_sources(int64_t in_size, int64_t out_size) {
    const double step = double(in_size) / double(out_size);
    std::vector<int64_t> src(static_cast<size_t>(out_size));
    double at = step * 0.5;
    for (int64_t x = 0; x < out_size; ++x, at += step) src[size_t(x)] = at < 0.0 ? -1 : int64_t(at);
    return src;
}

io::ImageU8 resize_nearest(const io::ImageU8& image, int64_t height, int64_t width) {
    const std::vector<int64_t> xs = nearest_sources(image.width, width), ys = nearest_sources(image.height, height);
    const int64_t C = image.channels;
    io::ImageU8 out{height, width, C, std::vector<uint8_t>(size_t(height * width * C), 0)};
    for (int64_t y = 0; y < height; ++y) {
        if (ys[size_t(y)] < 0 || ys[size_t(y)] >= image.height) continue;  // Pillow leaves 0 there
        const uint8_t* src = image.row(ys[size_t(y)]);
        uint8_t* dst = out.row(y);
        for (int64_t x = 0; x < width; ++x) {
            if (xs[size_t(x)] < 0 || xs[size_t(x)] >= image.width) continue;
            std::copy_n(src + xs[size_t(x)] * C, C, dst + x * C);
        }
    }
    return out;
}

}  // namespace

ResizeFilter parse_resize_filter(std::string_view name) {
    if (name == "nearest") return ResizeFilter::nearest;
    if (name == "box" || name == "area") return ResizeFilter::box;
    if (name == "bilinear") return ResizeFilter::bilinear;
    if (name == "bicubic") return ResizeFilter::bicubic;
    if (name == "lanczos") return ResizeFilter::lanczos;
    MG_FAIL("resize filter '{}': expected nearest, box (or area), bilinear, bicubic or lanczos", io::quote_short(name));
}

std::string_view resize_filter_name(ResizeFilter filter) {
    switch (filter) {
        case ResizeFilter::nearest: return "nearest";
        case ResizeFilter::box: return "box";
        case ResizeFilter::bilinear: return "bilinear";
        case ResizeFilter::bicubic: return "bicubic";
        case ResizeFilter::lanczos: return "lanczos";
    }
    return "?";
}

io::ImageU8 resize(const io::ImageU8& image, int64_t height, int64_t width, ResizeFilter filter) {
    const int64_t H = image.height, W = image.width, C = image.channels;
    MG_CHECK(H >= 1 && W >= 1 && C >= 1 && C <= 4 && image.pixels.size() == size_t(H * W * C),
             "resize: an image of {}x{}x{} with {} bytes", H, W, C, image.pixels.size());
    MG_CHECK(height >= 1 && width >= 1 && height <= (1 << 15) && width <= (1 << 15),
             "resize: target size {}x{} is outside 1..32768", height, width);
    MG_CHECK(H <= (1 << 20) && W <= (1 << 20), "resize: a source of {}x{} pixels is too large", H, W);
    if (height == H && width == W) return image;
    if (filter == ResizeFilter::nearest) return resize_nearest(image, height, width);

    const Kernel kernel = kernel_of(filter);
    const Taps vertical = precompute_taps(int(H), int(height), kernel);
    // The rows the vertical pass reads: only those go through the horizontal pass.
    const int64_t row0 = height == H ? 0 : vertical.first.front();
    const int64_t row_end = height == H ? H : vertical.first.back() + vertical.count.back();
    io::ImageU8 mid;
    const uint8_t* rows = image.pixels.data();
    int64_t rows_first = 0;
    if (width != W) {
        const Taps horizontal = precompute_taps(int(W), int(width), kernel);
        mid = {row_end - row0, width, C, std::vector<uint8_t>(size_t((row_end - row0) * width * C))};
        const auto rows_pass = C == 1 ? resample_rows<1> : C == 3 ? resample_rows<3> : resample_rows<0>;
        rows_pass(image.pixels.data(), W, C, row0, row_end - row0, horizontal, width, mid.pixels.data());
        rows = mid.pixels.data();
        rows_first = row0;
    }
    if (height == H) return {H, width, C, std::move(mid.pixels)};
    io::ImageU8 out{height, width, C, std::vector<uint8_t>(size_t(height * width * C))};
    resample_columns(rows, width * C, rows_first, vertical, height, out.pixels.data());
    return out;
}

}  // namespace mg::data
