#include "models/plot2d.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/io/image.h"

namespace mg::models::plot2d {

namespace {

struct Canvas {
    int64_t w, h;
    std::vector<uint8_t> rgb;  // planar: R plane, G plane, B plane (the [3, H, W] layout)
    Canvas(int64_t width, int64_t height) : w(width), h(height), rgb(size_t(3 * width * height), 255) {}
    void set(int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        size_t i = size_t(y * w + x), plane = size_t(w * h);
        rgb[i] = r, rgb[i + plane] = g, rgb[i + 2 * plane] = b;
    }
    void dot(double px, double py, int radius, uint8_t r, uint8_t g, uint8_t b) {
        for (int dy = -radius; dy <= radius; ++dy)
            for (int dx = -radius; dx <= radius; ++dx)
                if (dx * dx + dy * dy <= radius * radius) set(int64_t(px) + dx, int64_t(py) + dy, r, g, b);
    }
    void write(const std::string& path) const {
        Tensor img = from_vector(rgb, Shape{1, 3, h, w});
        io::write_png(path, img);
    }
};

// A 5x7 pixel font with just the characters the colour bar's labels need.
struct Glyph {
    char c;
    uint8_t rows[7];  // bit 4 is the leftmost pixel
};
constexpr Glyph kFont[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},    {'2', {14, 17, 1, 2, 4, 8, 31}},
    {'3', {31, 2, 4, 2, 1, 17, 14}},     {'4', {2, 6, 10, 18, 31, 2, 2}},   {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},     {'8', {14, 17, 17, 14, 17, 17, 14}},
    {'9', {14, 17, 17, 15, 1, 2, 12}},   {'.', {0, 0, 0, 0, 0, 12, 12}},    {'D', {30, 17, 17, 17, 17, 17, 30}},
    {'(', {2, 4, 8, 8, 8, 4, 2}},        {')', {8, 4, 2, 2, 2, 4, 8}},      {'x', {0, 0, 17, 10, 4, 10, 17}},
    {'r', {0, 0, 22, 25, 16, 16, 16}},   {'e', {0, 0, 14, 17, 31, 16, 14}}, {'a', {0, 0, 14, 1, 15, 17, 15}},
    {'l', {12, 4, 4, 4, 4, 4, 14}},      {'f', {6, 9, 8, 28, 8, 8, 8}},     {'k', {16, 16, 18, 20, 24, 20, 18}},
};

// Text with its top-left corner at (x, y), each font pixel `scale` pixels wide; unknown characters are blank.
void text(Canvas& c, int64_t x, int64_t y, const std::string& s, int scale, uint8_t shade) {
    for (char ch : s) {
        for (const Glyph& g : kFont)
            if (g.c == ch)
                for (int row = 0; row < 7; ++row)
                    for (int col = 0; col < 5; ++col)
                        if (g.rows[row] >> (4 - col) & 1)
                            for (int dy = 0; dy < scale; ++dy)
                                for (int dx = 0; dx < scale; ++dx)
                                    c.set(x + col * scale + dx, y + row * scale + dy, shade, shade, shade);
        x += 6 * scale;
    }
}

struct Rgb {
    uint8_t r, g, b;
};

// D's probability of "real" as a colour: 0 blue (fake), 0.5 white, 1 orange (real).
Rgb surface_colour(double p) {
    if (std::isnan(p)) return {200, 200, 200};
    double v = std::clamp(p, 0.0, 1.0), w = std::abs(v - 0.5) * 2;
    double r = v > 0.5 ? 255 : 255 - w * (255 - 70);
    double g = v > 0.5 ? 255 - w * (255 - 160) : 255 - w * (255 - 130);
    double b = v > 0.5 ? 255 - w * 255 : 255 - w * (255 - 220);
    return {uint8_t(r), uint8_t(g), uint8_t(b)};
}

// Width of the colour key right of the plot.
constexpr int64_t kKeyWidth = 130;

// The colour key: a vertical bar from D(x) = 0 (bottom) to 1 (top) with labelled ticks.
void colour_key(Canvas& c, int64_t x0) {
    const int64_t top = 44, bottom = c.h - 30, bar_l = x0 + 16, bar_r = x0 + 36;
    text(c, x0 + 12, 14, "D(x)", 2, 40);
    for (int64_t y = top; y <= bottom; ++y) {
        Rgb col = surface_colour(double(bottom - y) / double(bottom - top));
        for (int64_t x = bar_l; x <= bar_r; ++x) c.set(x, y, col.r, col.g, col.b);
    }
    for (int64_t x = bar_l - 1; x <= bar_r + 1; ++x) c.set(x, top - 1, 90, 90, 90), c.set(x, bottom + 1, 90, 90, 90);
    for (int64_t y = top - 1; y <= bottom + 1; ++y) c.set(bar_l - 1, y, 90, 90, 90), c.set(bar_r + 1, y, 90, 90, 90);
    const std::pair<double, const char*> ticks[] = {{1.0, "1 real"}, {0.75, "0.75"}, {0.5, "0.5"}, {0.25, "0.25"}, {0.0, "0 fake"}};
    for (const auto& [v, label] : ticks) {
        const int64_t y = bottom - int64_t(std::lround(v * double(bottom - top)));
        for (int64_t x = bar_r + 2; x <= bar_r + 6; ++x) c.set(x, y, 60, 60, 60);
        text(c, bar_r + 10, y - 6, label, 2, 40);
    }
}

// Data coordinates -> pixel coordinates (y up).
double to_px(double v, const View& view) { return (v - view.lo) / (view.hi - view.lo) * double(view.size); }

void axes(Canvas& c, const View& view) {
    // Light grid lines at every integer, darker axes through 0.
    for (int64_t t = int64_t(std::ceil(view.lo)); t <= int64_t(std::floor(view.hi)); ++t) {
        int64_t p = int64_t(to_px(double(t), view));
        uint8_t shade = t == 0 ? 150 : 225;
        for (int64_t i = 0; i < view.size; ++i) {
            c.set(p, i, shade, shade, shade);
            c.set(i, view.size - 1 - p, shade, shade, shade);
        }
    }
}

void points(Canvas& c, const Tensor& pts, const View& view, uint8_t r, uint8_t g, uint8_t b) {
    if (!pts.defined()) return;
    MG_CHECK(pts.dim() == 2 && pts.size(1) == 2, "plot2d: points must be [n, 2], got {}", pts.shape());
    std::vector<double> v = pts.to_vector<double>();
    for (size_t i = 0; i + 1 < v.size(); i += 2)
        if (to_px(v[i], view) < double(view.size))  // not over the colour key
            c.dot(to_px(v[i], view), double(view.size - 1) - to_px(v[i + 1], view), 2, r, g, b);
}

}  // namespace

void write_scatter(const std::string& path, const Tensor& generated, const Tensor& real, const View& view) {
    Canvas c(view.size, view.size);
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
    Canvas c(view.size + kKeyWidth, view.size);
    for (int64_t y = 0; y < view.size; ++y)
        for (int64_t x = 0; x < view.size; ++x) {
            Rgb col = surface_colour(p[size_t((y / cell) * cells + x / cell)]);
            c.set(x, y, col.r, col.g, col.b);
        }
    for (int64_t y = 0; y < c.h; ++y) c.set(view.size, y, 150, 150, 150);  // the plot's right edge
    colour_key(c, view.size);
    axes(c, view);
    points(c, real, view, 90, 90, 90);
    points(c, generated, view, 200, 20, 20);
    c.write(path);
}

}  // namespace mg::models::plot2d
