// FID-infinity (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and
// where to find them"): FID at several sample counts, a line against 1/N, its intercept.
#include <cstdint>
#include <vector>

#include "models/eval/feature_blocks.h"
#include "models/eval/feature_metrics.h"

namespace mg::eval {

FidInfinity fid_infinity(const FeatureStats& real, const Tensor& fake, int64_t points, uint64_t seed) {
    const Tensor f = detail::checked_matrix(fake, "fid_infinity", "fake", DType::Float32);
    const int64_t n = f.size(0);
    MG_CHECK(points >= 2, "fid_infinity: needs at least 2 points for a line, got {}", points);
    MG_CHECK(n / points >= 2, "fid_infinity: {} fake rows are too few for {} points of at least 2 rows each", n,
             points);
    data::RandomStream rng(seed, kFidInfinityStream);
    const std::vector<int64_t> order = draw_rows(n, n, rng);
    FidInfinity out;
    for (int64_t i = 1; i <= points; ++i) {
        const int64_t size = i * n / points;
        const std::vector<int64_t> rows(order.begin(), order.begin() + size);
        out.sizes.push_back(size);
        out.fids.push_back(frechet_distance(real, feature_stats(gather_rows(f, rows))));
    }
    // Least squares of fid = a + b x with x = 1 / N.
    double mean_x = 0, mean_y = 0;
    for (int64_t i = 0; i < points; ++i) mean_x += 1.0 / double(out.sizes[size_t(i)]), mean_y += out.fids[size_t(i)];
    mean_x /= double(points), mean_y /= double(points);
    double sxy = 0, sxx = 0;
    for (int64_t i = 0; i < points; ++i) {
        const double dx = 1.0 / double(out.sizes[size_t(i)]) - mean_x;
        sxy += dx * (out.fids[size_t(i)] - mean_y);
        sxx += dx * dx;
    }
    out.slope = sxy / sxx;
    out.fid_infinity = mean_y - out.slope * mean_x;
    return out;
}

}  // namespace mg::eval
