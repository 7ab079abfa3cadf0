#include "models/eval/memorisation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/data/transforms.h"
#include "models/eval/feature_blocks.h"

namespace mg::eval {

NearestRows nearest_rows(const Tensor& query, const Tensor& reference) {
    // Checked as (real, fake) = (reference, query): errors name them so.
    const auto [ref, qry] = detail::checked_real_fake(reference, query, "nearest_rows");
    MG_CHECK(ref.size(0) >= 1, "nearest_rows: the reference set is empty ({})", reference.shape());
    const std::vector<float> query_norms = detail::row_squared_norms(qry), ref_norms = detail::row_squared_norms(ref);
    const int64_t n_ref = ref.size(0);
    NearestRows out;
    out.index.resize(size_t(qry.size(0)));
    out.distance.resize(size_t(qry.size(0)));
    detail::for_each_gram_block(qry, ref, [&](int64_t row0, int64_t rows, float* gram) {
        for (int64_t i = 0; i < rows; ++i) {
            float* d = gram + i * n_ref;
            detail::gram_row_to_distances(d, query_norms[size_t(row0 + i)], ref_norms);
            const int64_t best = std::min_element(d, d + n_ref) - d;
            out.index[size_t(row0 + i)] = best;
            out.distance[size_t(row0 + i)] = std::sqrt(double(d[best]));
        }
    });
    return out;
}

double quantile(std::vector<double> v, double q) {
    MG_CHECK(!v.empty() && q >= 0 && q <= 1, "quantile: needs values and q in [0, 1], got {} values, q {}", v.size(),
             q);
    std::sort(v.begin(), v.end());
    const double at = q * double(v.size() - 1);
    const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (at - double(lo)) * (v[hi] - v[lo]);
}

Memorisation memorisation_check(const Tensor& samples, const Tensor& test, const Tensor& train) {
    Memorisation m;
    m.samples = nearest_rows(samples, train);
    m.test = nearest_rows(test, train).distance;
    const double p1 = quantile(m.test, 0.01);
    int64_t closer = 0;
    for (double d : m.samples.distance) closer += d < p1;
    m.closer_than_test_p1 = m.samples.distance.empty() ? 0.0 : double(closer) / double(m.samples.distance.size());
    return m;
}

nlohmann::json memorisation_json(const Memorisation& m, int64_t train_rows) {
    auto quantiles = [](const std::vector<double>& v) {
        return nlohmann::json{{"p1", quantile(v, 0.01)}, {"p5", quantile(v, 0.05)}, {"p25", quantile(v, 0.25)},
                              {"p50", quantile(v, 0.5)}};
    };
    return {{"train_images", train_rows},
            {"closer_than_test_p1", m.closer_than_test_p1},
            {"sample_distance", quantiles(m.samples.distance)},
            {"test_distance", quantiles(m.test)}};
}

Tensor nearest_pairs(const Memorisation& m, const Tensor& samples, const Tensor& train, int64_t count) {
    MG_CHECK(samples.dim() == 4 && train.dim() == 4 && samples.shape()[1] == train.shape()[1] &&
                 samples.size(2) == train.size(2) && samples.size(3) == train.size(3),
             "memorisation grid: samples {} and training images {} differ in size", samples.shape(), train.shape());
    const std::vector<double>& d = m.samples.distance;
    std::vector<int64_t> order(d.size());
    std::iota(order.begin(), order.end(), 0);
    count = std::min<int64_t>(count, int64_t(order.size()));
    std::partial_sort(order.begin(), order.begin() + count, order.end(),
                      [&](int64_t a, int64_t b) { return std::pair(d[size_t(a)], a) < std::pair(d[size_t(b)], b); });
    std::vector<Tensor> tiles;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t s = order[size_t(i)], t = m.samples.index[size_t(s)];
        tiles.push_back(samples.slice(0, s, s + 1).to(DType::Float32));
        tiles.push_back(data::to_float(train.slice(0, t, t + 1), data::PixelRange::ZeroOne));
    }
    return cat(tiles, 0);
}

}  // namespace mg::eval
