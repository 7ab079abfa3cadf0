// Improved precision and recall (Kynkaanniemi et al. 2019), density and coverage (Naeem
// et al. 2020). Each set's manifold is the union of balls around its points, the radius
// of a ball being the distance to the k-th nearest other point of the same set. Squared
// distances come from one float32 GEMM per row block: |x|^2 + |y|^2 - 2 x.y, clamped at 0.
//   pass 1, 2: k-NN radii of the real and of the fake set (each set against itself);
//   pass 3:    fake against real, deciding all four at once: precision and density from
//              the real balls each fake point is in (rows), recall and coverage from each
//              real point's fake balls and nearest fake point (columns).
#include <algorithm>
#include <limits>

#include "models/eval/feature_blocks.h"
#include "models/eval/feature_metrics.h"

namespace mg::eval {

namespace {

// The k-th smallest of d [n], keeping an ascending list of the k smallest so far. Chunks
// with no value below the current k-th are skipped by a vectorisable test, which is
// almost every chunk once the list has filled.
float kth_smallest(const float* d, int64_t n, std::vector<float>& nearest) {
    const int64_t k = int64_t(nearest.size());
    std::fill(nearest.begin(), nearest.end(), std::numeric_limits<float>::infinity());
    constexpr int64_t kChunk = 16;
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int64_t end = std::min(n, j0 + kChunk);
        const float worst = nearest[size_t(k - 1)];
        int any_closer = 0;
        for (int64_t j = j0; j < end; ++j) any_closer |= d[j] < worst;
        if (!any_closer) continue;
        for (int64_t j = j0; j < end; ++j) {
            if (d[j] >= nearest[size_t(k - 1)]) continue;
            int64_t at = k - 1;  // insertion into the sorted list
            while (at > 0 && nearest[size_t(at - 1)] > d[j]) {
                nearest[size_t(at)] = nearest[size_t(at - 1)];
                --at;
            }
            nearest[size_t(at)] = d[j];
        }
    }
    return nearest[size_t(k - 1)];
}

// Squared distance to the k-th nearest other row of x [N, D], per row: [N].
std::vector<float> knn_radii_squared(const Tensor& x, const std::vector<float>& norms, int64_t k) {
    const int64_t n = x.size(0);
    std::vector<float> radii(static_cast<size_t>(n));
    std::vector<float> nearest(static_cast<size_t>(k));
    detail::for_each_gram_block(x, x, [&](int64_t row0, int64_t rows, float* gram) {
        for (int64_t i = 0; i < rows; ++i) {
            float* d = gram + i * n;
            detail::gram_row_to_distances(d, norms[size_t(row0 + i)], norms);
            d[row0 + i] = std::numeric_limits<float>::infinity();  // the point itself is no neighbour
            radii[size_t(row0 + i)] = kth_smallest(d, n, nearest);
        }
    });
    return radii;
}

}  // namespace

PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k) {
    const char* fn = "precision_recall";
    const auto [r, f] = detail::checked_real_fake(real, fake, fn);
    MG_CHECK(k >= 1, "{}: k must be >= 1, got {}", fn, k);
    MG_CHECK(r.size(0) > k && f.size(0) > k, "{}: each set needs more than k = {} rows, got real {} and fake {}", fn,
             k, real.shape(), fake.shape());

    const std::vector<float> real_norms = detail::row_squared_norms(r), fake_norms = detail::row_squared_norms(f);
    const std::vector<float> real_radii = knn_radii_squared(r, real_norms, k);
    const std::vector<float> fake_radii = knn_radii_squared(f, fake_norms, k);

    const int64_t n_real = r.size(0), n_fake = f.size(0);
    std::vector<int32_t> real_covered(size_t(n_real), 0);  // inside some fake ball
    std::vector<float> nearest_fake(size_t(n_real), std::numeric_limits<float>::infinity());
    int64_t fake_inside = 0;                               // fake points inside some real ball
    int64_t real_balls = 0;  // (fake point, real ball around it) pairs, ball boundary excluded
    detail::for_each_gram_block(f, r, [&](int64_t row0, int64_t rows, float* gram) {
        for (int64_t i = 0; i < rows; ++i) {
            float* d = gram + i * n_real;
            detail::gram_row_to_distances(d, fake_norms[size_t(row0 + i)], real_norms);
            const float radius = fake_radii[size_t(row0 + i)];
            int inside = 0, balls = 0;
            for (int64_t j = 0; j < n_real; ++j) {  // branch-free so that it vectorises
                inside |= d[j] <= real_radii[size_t(j)];
                balls += d[j] < real_radii[size_t(j)];
                real_covered[size_t(j)] |= d[j] <= radius;
                nearest_fake[size_t(j)] = std::min(nearest_fake[size_t(j)], d[j]);
            }
            fake_inside += inside;
            real_balls += balls;
        }
    });
    int64_t covered = 0, coverage = 0;
    for (int64_t j = 0; j < n_real; ++j) {
        covered += real_covered[size_t(j)];
        coverage += nearest_fake[size_t(j)] < real_radii[size_t(j)];
    }

    PrecisionRecall out;
    out.precision = double(fake_inside) / double(n_fake);
    out.recall = double(covered) / double(n_real);
    out.density = double(real_balls) / (double(k) * double(n_fake));
    out.coverage = double(coverage) / double(n_real);
    out.k = k;
    return out;
}

}  // namespace mg::eval
