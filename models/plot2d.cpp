#include "models/plot2d.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/io/image.h"

namespace mg::models::plot2d {

namespace {

struct Canvas {
    int64_t n;
    std::vector<uint8_t> rgb;  // planar: R plane, G plane, B plane (the [3, H, W] layout)
    explicit Canvas(int64_t size) : n(size), rgb(size_t(3 * size * size), 255) {}
    void set(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
        if (x < 0 || y < 0 || x >= n || y >= n) return;
        size_t i = size_t(y * n + x), plane = size_t(n * n);
        rgb[i] = r, rgb[i + plane] = g, rgb[i + 2 * plane] = b;
    }
    void dot(double px, double py, int radius, uint8_t r, uint8_t g, uint8_t b) {
        for (int dy = -radius; dy <= radius; ++dy)
            for (int dx = -radius; dx <= radius; ++dx)
                if (dx * dx + dy * dy <= radius * radius) set(int64_t(px) + dx, int64_t(py) + dy, r, g, b);
    }
    void write(const std::string& path) const {
        Tensor img = from_vector(rgb, Shape{1, 3, n, n});
        io::write_png(path, img);
    }
};

// Data coordinates -> pixel coordinates (y up).
double to_px(double v, const View& view) { return (v - view.lo) / (view.hi - view.lo) * double(view.size); }

void axes(Canvas& c, const View& view) {
    // Light grid lines at every integer, darker axes through 0.
    for (int64_t t = int64_t(std::ceil(view.lo)); t <= int64_t(std::floor(view.hi)); ++t) {
        int64_t p = int64_t(to_px(double(t), view));
        uint8_t shade = t == 0 ? 150 : 225;
        for (int64_t i = 0; i < c.n; ++i) {
            c.set(p, i, shade, shade, shade);
            c.set(i, c.n - 1 - p, shade, shade, shade);
        }
    }
}

void points(Canvas& c, const Tensor& pts, const View& view, uint8_t r, uint8_t g, uint8_t b) {
    if (!pts.defined()) return;
    MG_CHECK(pts.dim() == 2 && pts.size(1) == 2, "plot2d: points must be [n, 2], got {}", pts.shape());
    std::vector<double> v = pts.to_vector<double>();
    for (size_t i = 0; i + 1 < v.size(); i += 2)
        c.dot(to_px(v[i], view), double(c.n - 1) - to_px(v[i + 1], view), 2, r, g, b);
}

}  // namespace

void write_scatter(const std::string& path, const Tensor& generated, const Tensor& real, const View& view) {
    Canvas c(view.size);
    axes(c, view);
    points(c, real, view, 120, 120, 120);
    points(c, generated, view, 220, 40, 40);
    c.write(path);
}

void write_decision_surface(const std::string& path, const std::function<Tensor(const Tensor&)>& surface,
                            const Tensor& generated, const Tensor& real, const View& view) {
    // Evaluate D on a coarse grid (one value per 4x4 pixel cell) in one batch.
    const int64_t cell = 4, cells = (view.size + cell - 1) / cell;
    std::vector<float> grid(size_t(cells * cells * 2));
    for (int64_t j = 0; j < cells; ++j)
        for (int64_t i = 0; i < cells; ++i) {
            double x = view.lo + (double(i) + 0.5) * double(cell) / double(view.size) * (view.hi - view.lo);
            double y = view.hi - (double(j) + 0.5) * double(cell) / double(view.size) * (view.hi - view.lo);
            grid[size_t((j * cells + i) * 2)] = float(x);
            grid[size_t((j * cells + i) * 2 + 1)] = float(y);
        }
    std::vector<double> p;
    {
        autograd::NoGradGuard no_grad;
        p = surface(from_vector(grid, Shape{cells * cells, 2})).to_vector<double>();
    }
    MG_CHECK(int64_t(p.size()) == cells * cells, "plot2d: the surface returned {} values for {} points", p.size(),
             cells * cells);
    Canvas c(view.size);
    for (int64_t y = 0; y < c.n; ++y)
        for (int64_t x = 0; x < c.n; ++x) {
            double v = std::clamp(p[size_t((y / cell) * cells + x / cell)], 0.0, 1.0);
            // 0 -> blue (D says fake), 1 -> orange (D says real), blended toward white near 0.5.
            double w = std::abs(v - 0.5) * 2;
            double r = v > 0.5 ? 255 : 255 - w * (255 - 70);
            double g = v > 0.5 ? 255 - w * (255 - 160) : 255 - w * (255 - 130);
            double b = v > 0.5 ? 255 - w * 255 : 255 - w * (255 - 220);
            c.set(x, y, uint8_t(r), uint8_t(g), uint8_t(b));
        }
    axes(c, view);
    points(c, real, view, 90, 90, 90);
    points(c, generated, view, 200, 20, 20);
    c.write(path);
}

}  // namespace mg::models::plot2d
