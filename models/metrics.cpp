#include "models/metrics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mg::models {

ModeCoverage mode_coverage(const Tensor& samples, const Tensor& centres, double std, double min_fraction) {
    MG_CHECK(samples.dim() == 2 && samples.size(1) == 2, "mode_coverage: samples must be [n, 2], got {}",
             samples.shape());
    MG_CHECK(centres.dim() == 2 && centres.size(1) == 2, "mode_coverage: centres must be [k, 2], got {}",
             centres.shape());
    MG_CHECK(std > 0, "mode_coverage: std must be positive, got {}", std);
    std::vector<double> s = samples.to_vector<double>(), c = centres.to_vector<double>();
    const int64_t n = samples.size(0), k = centres.size(0);
    std::vector<int64_t> hits(size_t(k), 0);
    int64_t hq = 0;
    const double r2 = 9 * std * std;
    for (int64_t i = 0; i < n; ++i) {
        // The nearest centre claims the sample if it is within 3 std.
        int64_t best = -1;
        double best_d2 = r2;
        for (int64_t j = 0; j < k; ++j) {
            double dx = s[size_t(2 * i)] - c[size_t(2 * j)], dy = s[size_t(2 * i + 1)] - c[size_t(2 * j + 1)];
            double d2 = dx * dx + dy * dy;
            if (d2 <= best_d2) best = j, best_d2 = d2;
        }
        if (best >= 0) ++hits[size_t(best)], ++hq;
    }
    ModeCoverage out;
    out.modes = k;
    for (int64_t h : hits)
        if (double(h) >= min_fraction * double(n)) ++out.modes_covered;
    out.hq_fraction = n ? double(hq) / double(n) : 0.0;
    return out;
}

}  // namespace mg::models

namespace mg::models {

namespace {

void check_image_pair(const char* what, const Tensor& a, const Tensor& b, int64_t min_size) {
    MG_CHECK(a.dim() == 4 && a.shape() == b.shape(), "{}: expected two image batches [N, C, H, W] of one shape, got {} and {}",
             what, a.shape(), b.shape());
    MG_CHECK(a.size(2) >= min_size && a.size(3) >= min_size, "{}: images of {}x{} are smaller than {}x{}", what,
             a.size(3), a.size(2), min_size, min_size);
}

// Normalised 1-D Gaussian weights, 11 taps, sigma 1.5.
std::vector<double> ssim_window() {
    std::vector<double> w(11);
    double total = 0;
    for (int i = 0; i < 11; ++i) total += w[size_t(i)] = std::exp(-double((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
    for (double& v : w) v /= total;
    return w;
}

// The Gaussian-weighted mean of x over every valid window: [h, w] -> [h - 10, w - 10].
std::vector<double> window_means(const std::vector<double>& x, int64_t h, int64_t w, const std::vector<double>& g) {
    const int64_t ow = w - 10, oh = h - 10;
    std::vector<double> rows(static_cast<size_t>(h * ow)), out(static_cast<size_t>(oh * ow));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
            double s = 0;
            for (int64_t t = 0; t < 11; ++t) s += g[size_t(t)] * x[size_t(y * w + x0 + t)];
            rows[size_t(y * ow + x0)] = s;
        }
    for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
            double s = 0;
            for (int64_t t = 0; t < 11; ++t) s += g[size_t(t)] * rows[size_t((y0 + t) * ow + x0)];
            out[size_t(y0 * ow + x0)] = s;
        }
    return out;
}

}  // namespace

Tensor ssim(const Tensor& a, const Tensor& b, double data_range) {
    check_image_pair("ssim", a, b, 11);
    MG_CHECK(data_range > 0, "ssim: data_range must be positive, got {}", data_range);
    const int64_t n = a.size(0), c = a.size(1), h = a.size(2), w = a.size(3), plane = h * w;
    const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>(), g = ssim_window();
    const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
    std::vector<double> result(static_cast<size_t>(n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch) {
            const size_t at = size_t((i * c + ch) * plane);
            std::vector<double> x(va.begin() + long(at), va.begin() + long(at + size_t(plane)));
            std::vector<double> y(vb.begin() + long(at), vb.begin() + long(at + size_t(plane)));
            std::vector<double> xx(x.size()), yy(x.size()), xy(x.size());
            for (size_t k = 0; k < x.size(); ++k) xx[k] = x[k] * x[k], yy[k] = y[k] * y[k], xy[k] = x[k] * y[k];
            const std::vector<double> mx = window_means(x, h, w, g), my = window_means(y, h, w, g),
                                      mxx = window_means(xx, h, w, g), myy = window_means(yy, h, w, g),
                                      mxy = window_means(xy, h, w, g);
            double total = 0;
            for (size_t k = 0; k < mx.size(); ++k) {
                const double sx = mxx[k] - mx[k] * mx[k], sy = myy[k] - my[k] * my[k], sxy = mxy[k] - mx[k] * my[k];
                total += (2 * mx[k] * my[k] + c1) * (2 * sxy + c2) /
                         ((mx[k] * mx[k] + my[k] * my[k] + c1) * (sx + sy + c2));
            }
            result[size_t(i)] += total / double(mx.size()) / double(c);
        }
    return from_vector(result, {n});
}

Tensor psnr(const Tensor& a, const Tensor& b, double data_range) {
    check_image_pair("psnr", a, b, 1);
    MG_CHECK(data_range > 0, "psnr: data_range must be positive, got {}", data_range);
    const int64_t n = a.size(0), per = a.numel() / n;
    const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
    std::vector<double> result(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        double sq = 0;
        for (int64_t k = i * per; k < (i + 1) * per; ++k) sq += (va[size_t(k)] - vb[size_t(k)]) * (va[size_t(k)] - vb[size_t(k)]);
        const double mse = sq / double(per);
        result[size_t(i)] = mse > 0 ? std::min(100.0, 10 * std::log10(data_range * data_range / mse)) : 100.0;
    }
    return from_vector(result, {n});
}

Tensor colorfulness(const Tensor& rgb) {
    MG_CHECK(rgb.dim() == 4 && rgb.size(1) == 3 && rgb.size(0) > 0 && rgb.size(2) * rgb.size(3) > 0,
             "colorfulness: expected RGB images [N, 3, H, W], got {}", rgb.shape());
    const int64_t n = rgb.size(0), pixels = rgb.size(2) * rgb.size(3);
    const std::vector<double> v = rgb.contiguous().to_vector<double>();
    std::vector<double> result(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const double* r = v.data() + i * 3 * pixels;
        const double *g = r + pixels, *b = g + pixels;
        double sum_rg = 0, sum_yb = 0, sq_rg = 0, sq_yb = 0;
        for (int64_t k = 0; k < pixels; ++k) {
            const double rg = 255 * (r[k] - g[k]), yb = 255 * (0.5 * (r[k] + g[k]) - b[k]);
            sum_rg += rg, sum_yb += yb, sq_rg += rg * rg, sq_yb += yb * yb;
        }
        const double mean_rg = sum_rg / double(pixels), mean_yb = sum_yb / double(pixels);
        const double var_rg = std::max(0.0, sq_rg / double(pixels) - mean_rg * mean_rg);
        const double var_yb = std::max(0.0, sq_yb / double(pixels) - mean_yb * mean_yb);
        result[size_t(i)] = std::sqrt(var_rg + var_yb) + 0.3 * std::hypot(mean_rg, mean_yb);
    }
    return from_vector(result, {n});
}

}  // namespace mg::models
