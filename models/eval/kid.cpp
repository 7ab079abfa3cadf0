// Kernel Inception Distance (Binkowski et al. 2018): the unbiased estimator of the squared
// MMD with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, on random subsets.
//   MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
//           - 2 sum_{i, j} k(x_i, y_j) / m^2
// Per subset: the Gram matrices in row blocks (float32 GEMM; only the upper part of the
// symmetric x x^T and y y^T), kernel sums in float64.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/data/random_stream.h"
#include "models/eval/feature_blocks.h"
#include "models/eval/feature_metrics.h"

namespace mg::eval {

std::vector<int64_t> draw_rows(int64_t n, int64_t m, data::RandomStream& rng) {
    MG_CHECK(m >= 0 && m <= n, "draw_rows: {} rows requested of {}", m, n);
    std::vector<int64_t> index(static_cast<size_t>(n));
    std::iota(index.begin(), index.end(), 0);
    for (int64_t i = 0; i < m; ++i) std::swap(index[size_t(i)], index[size_t(i + int64_t(rng.below(uint64_t(n - i))))]);
    index.resize(size_t(m));
    return index;
}

Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& rows) {
    MG_CHECK(x.dim() >= 1 && x.is_contiguous() && x.device() == Device::CPU,
             "gather_rows: needs a dense CPU tensor of at least 1 dimension, got {}", x.shape());
    Shape shape = x.shape();
    shape[0] = int64_t(rows.size());
    Tensor out = empty(shape, {x.dtype()});
    const int64_t bytes = (x.size(0) > 0 ? x.numel() / x.size(0) : 0) * x.element_size();
    const auto* src = static_cast<const char*>(x.raw_data());
    auto* dst = static_cast<char*>(out.raw_data());
    for (size_t i = 0; i < rows.size(); ++i) {
        MG_CHECK(rows[i] >= 0 && rows[i] < x.size(0), "gather_rows: row {} of {}", rows[i], x.size(0));
        std::memcpy(dst + int64_t(i) * bytes, src + rows[i] * bytes, size_t(bytes));
    }
    return out;
}

namespace {

// sum over count Gram entries g of (g / D + 1)^3, in double. Four independent partial
// sums so that the compiler may vectorise without reassociating one long chain.
double cubic_kernel_sum(const float* g, int64_t count, double inv_d) {
    double lane[4] = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= count; j += 4)
        for (int l = 0; l < 4; ++l) {
            const double t = double(g[j + l]) * inv_d + 1.0;
            lane[l] += t * t * t;
        }
    for (; j < count; ++j) {
        const double t = double(g[j]) * inv_d + 1.0;
        lane[0] += t * t * t;
    }
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

// sum of k(x_i, x_j) over i != j: twice the sum over i < j (the kernel is symmetric).
double kernel_sum_within(const Tensor& x) {
    const int64_t m = x.size(0);
    const double inv_d = 1.0 / double(x.size(1));
    double upper = 0;
    // 256-row blocks compute about 0.6 of the full m x m product at m = 1000.
    detail::for_each_upper_gram_block(x, 256, [&](int64_t row0, int64_t rows, const float* gram) {
        const int64_t cols = m - row0;
        for (int64_t i = 0; i < rows; ++i) upper += cubic_kernel_sum(gram + i * cols + i + 1, cols - i - 1, inv_d);
    });
    return 2 * upper;
}

// sum of k(x_i, y_j) over all i, j.
double kernel_sum_across(const Tensor& x, const Tensor& y) {
    const int64_t ny = y.size(0);
    const double inv_d = 1.0 / double(x.size(1));
    double total = 0;
    detail::for_each_gram_block(x, y, [&](int64_t, int64_t rows, const float* gram) {
        for (int64_t i = 0; i < rows; ++i) total += cubic_kernel_sum(gram + i * ny, ny, inv_d);
    });
    return total;
}

}  // namespace

Kid kernel_inception_distance(const Tensor& real, const Tensor& fake, int64_t subsets, int64_t subset_size,
                              uint64_t seed) {
    const char* fn = "kernel_inception_distance";
    const auto [x, y] = detail::checked_real_fake(real, fake, fn);
    MG_CHECK(subsets >= 1, "{}: subsets must be >= 1, got {}", fn, subsets);
    const int64_t m = std::min({subset_size, x.size(0), y.size(0)});
    MG_CHECK(m >= 2, "{}: needs at least 2 rows per subset; subset_size {}, real {}, fake {}", fn, subset_size,
             real.shape(), fake.shape());

    std::vector<double> mmd(static_cast<size_t>(subsets));
    const double pairs_within = double(m) * double(m - 1), pairs_across = double(m) * double(m);
    for (int64_t s = 0; s < subsets; ++s) {
        data::RandomStream rng(seed, uint64_t(s));  // subset s is the same whatever `subsets` is
        const Tensor xs = gather_rows(x, draw_rows(x.size(0), m, rng));
        const Tensor ys = gather_rows(y, draw_rows(y.size(0), m, rng));
        mmd[size_t(s)] = kernel_sum_within(xs) / pairs_within + kernel_sum_within(ys) / pairs_within -
                         2 * kernel_sum_across(xs, ys) / pairs_across;
    }
    Kid out;
    double mean = 0, var = 0;
    for (double v : mmd) mean += v;
    mean /= double(subsets);
    for (double v : mmd) var += (v - mean) * (v - mean);
    out.mean = mean;
    out.std = std::sqrt(var / double(subsets));
    out.subsets = subsets;
    out.subset_size = m;
    return out;
}

}  // namespace mg::eval
