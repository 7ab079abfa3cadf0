#include "models/metrics.h"

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
