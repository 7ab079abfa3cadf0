#include "models/vae/latent_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "core/io/image.h"

namespace mg::models {

namespace {

constexpr std::array<std::array<uint8_t, 3>, 10> kTab10 = {{{31, 119, 180},
                                                             {255, 127, 14},
                                                             {44, 160, 44},
                                                             {214, 39, 40},
                                                             {148, 103, 189},
                                                             {140, 86, 75},
                                                             {227, 119, 194},
                                                             {127, 127, 127},
                                                             {188, 189, 34},
                                                             {23, 190, 207}}};

// A white RGB canvas, planar ([3, H, W] as write_png takes it).
struct Canvas {
    int64_t w, h;
    std::vector<uint8_t> rgb;
    Canvas(int64_t width, int64_t height) : w(width), h(height), rgb(size_t(3 * width * height), 255) {}
    void set(int64_t x, int64_t y, const std::array<uint8_t, 3>& c) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        for (size_t p = 0; p < 3; ++p) rgb[p * size_t(w * h) + size_t(y * w + x)] = c[p];
    }
};

}  // namespace

void write_latent_scatter(const std::string& path, const Tensor& points, const Tensor& labels, int64_t size) {
    MG_CHECK(points.defined() && points.dim() == 2 && points.size(1) == 2,
             "write_latent_scatter: points must be [n, 2], got {}",
             points.defined() ? points.shape().str() : std::string("none"));
    MG_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == points.size(0),
             "write_latent_scatter: labels must be [{}], got {}", points.size(0),
             labels.defined() ? labels.shape().str() : std::string("none"));
    MG_CHECK(size >= 64 && size <= 4096, "write_latent_scatter: size {} not in [64, 4096]", size);
    std::vector<double> p = points.to_vector<double>();
    std::vector<int64_t> y = labels.to_vector<int64_t>();
    double r = 3.0;
    for (double v : p)
        if (std::isfinite(v)) r = std::max(r, std::ceil(std::abs(v)));
    r = std::min(r, 50.0);

    const int64_t strip = size / 24;  // the colour key below the plot
    Canvas c(size, size + strip);
    auto to_px = [&](double v) { return (v + r) / (2 * r) * double(size - 1); };
    for (int64_t t = -int64_t(r); t <= int64_t(r); ++t) {
        int64_t q = int64_t(std::lround(to_px(double(t))));
        uint8_t shade = t == 0 ? 150 : 228;
        for (int64_t i = 0; i < size; ++i) {
            c.set(q, i, {shade, shade, shade});
            c.set(i, size - 1 - q, {shade, shade, shade});
        }
    }
    for (size_t i = 0; i < y.size(); ++i) {
        MG_CHECK(y[i] >= 0, "write_latent_scatter: label {} of point {} is negative", y[i], i);
        double px = to_px(p[2 * i]), py = double(size - 1) - to_px(p[2 * i + 1]);
        if (!std::isfinite(px) || !std::isfinite(py)) continue;
        for (int64_t dy = -2; dy <= 2; ++dy)
            for (int64_t dx = -2; dx <= 2; ++dx)
                if (dx * dx + dy * dy <= 4) c.set(int64_t(px) + dx, int64_t(py) + dy, kTab10[size_t(y[i] % 10)]);  // beyond 10 classes the colours repeat
    }
    for (int64_t x = 0; x < size; ++x)
        for (int64_t s = 0; s < strip; ++s) c.set(x, size + s, kTab10[size_t(std::min<int64_t>(x * 10 / size, 9))]);
    io::write_png(path, from_vector(c.rgb, Shape{3, c.h, c.w}));
}

}  // namespace mg::models
