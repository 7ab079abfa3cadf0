// Sample-quality metrics in a feature space: FID, KID, Inception Score, improved
// precision/recall, and the histogram of predicted classes. minigen computes them on the
// 128-d features (and the softmax) of its own Fashion-MNIST classifier; the definitions,
// estimators and pitfalls are in docs/evaluation.md.
//
// Features are [N, D] float32 or float64 tensors on any device (they are copied to the
// CPU); probabilities are [N, C] softmax rows. Nothing here records autograd history.
// Pairwise work is done in row blocks (never an N x N matrix) with float32 GEMM and
// float64 sums, so 10,000 x 128 per side takes seconds on one core.
#pragma once

#include <cstdint>
#include <vector>

#include "core/data/random_stream.h"
#include "core/tensor.h"

namespace mg::eval {

// Mean and covariance (float64, unbiased: divided by N - 1) of features [N, D], N >= 2.
struct FeatureStats {
    int64_t count = 0, dim = 0;
    std::vector<double> mean;  // [D]
    std::vector<double> cov;   // [D, D] row-major, symmetric
};
FeatureStats feature_stats(const Tensor& features);

// Frechet distance between the Gaussians N(mu1, S1) and N(mu2, S2):
//   |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^1/2 S2 S1^1/2)^1/2,
// S1^1/2 from the eigendecomposition of S1, the trace of the root as the sum of the roots
// of the eigenvalues of the symmetric PSD S1^1/2 S2 S1^1/2 (round-off negatives -> 0).
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

// m distinct rows of [0, n), in drawing order: a partial Fisher-Yates shuffle of 0..n-1 that
// swaps position i with i + rng.below(n - i). KID's subsets and FID-infinity's order are
// drawn by it, so that a test can reproduce them outside minigen.
std::vector<int64_t> draw_rows(int64_t n, int64_t m, data::RandomStream& rng);
// rows of x [N, ...] (dense, on the CPU, any dtype) -> [rows.size(), ...]
Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& rows);

// Intra-class FID for conditional models: per class c in [0, classes), the FID between the
// real rows labelled c and the fake rows labelled c (labels: int64 [N] beside each set), and
// the mean over classes. Each class needs at least 2 rows on each side.
struct IntraClassFid {
    std::vector<double> per_class;  // [classes]
    double mean = 0;
};
IntraClassFid intra_class_fid(const Tensor& real, const Tensor& real_labels, const Tensor& fake,
                              const Tensor& fake_labels, int64_t classes);

// Kernel Inception Distance: unbiased MMD^2 with k(x, y) = (x.y / D + 1)^3 on `subsets`
// random subsets of m = min(subset_size, N_real, N_fake) rows of each set: subset s draws
// the real rows, then the fake rows, with draw_rows from RandomStream(seed, s). mean and std
// (population, ddof 0) over subsets.
struct Kid {
    double mean = 0, std = 0;
    int64_t subsets = 0, subset_size = 0;  // subset_size: m after clipping
};
Kid kernel_inception_distance(const Tensor& real, const Tensor& fake, int64_t subsets = 100,
                              int64_t subset_size = 1000, uint64_t seed = 0);

// FID-infinity (Chong & Forsyth 2020): FID is biased upwards by a term ~ 1/N, so FID_N is
// computed at `points` sizes N_i = i N / points (i = 1..points) and a least-squares line
// FID_N = fid_infinity + slope / N extrapolates it to N = infinity. The subsets are nested:
// the first N_i rows of one order of the fake rows, draw_rows(N, N, RandomStream(seed,
// kFidInfinityStream)); the real statistics stay whole.
constexpr uint64_t kFidInfinityStream = 0xF1D1;
struct FidInfinity {
    double fid_infinity = 0, slope = 0;
    std::vector<int64_t> sizes;  // N_i, ascending
    std::vector<double> fids;    // FID_{N_i}
};
FidInfinity fid_infinity(const FeatureStats& real, const Tensor& fake, int64_t points = 5, uint64_t seed = 0);

// Inception Score of class probabilities [N, C]: the rows are cut into `splits` contiguous
// parts of N/splits rows (sizes differ by at most 1); per part exp(mean_x KL(p(y|x) || p(y)))
// with p(y) the part's mean row. mean and std (population) over the parts.
struct InceptionScore {
    double mean = 0, std = 0;
    int64_t splits = 0;
};
InceptionScore inception_score(const Tensor& probs, int64_t splits = 10);

// Improved precision and recall (Kynkaanniemi et al. 2019) with density and coverage (Naeem
// et al. 2020), from the same k-NN balls. Each point's ball has the radius of its k-th
// nearest neighbour in its own set (the point itself excluded). precision: share of fake
// points inside some real ball; recall: share of real points inside some fake ball (both
// boundaries included). density: real balls containing a fake point, per fake point, over k
// (about 1 when both sets come from one distribution; above 1 where samples crowd dense
// regions); coverage: share of real points whose nearest fake point lies inside their ball
// (both strict, as the reference `prdc` code).
struct PrecisionRecall {
    double precision = 0, recall = 0, density = 0, coverage = 0;
    int64_t k = 0;
};
PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k = 3);

// Histogram of argmax classes of probs [N, C] (any scores work; ties go to the lower class)
// and KL(histogram || uniform) in nats: 0 when every class is equally frequent, log C when
// one class takes every row.
struct ClassHistogram {
    std::vector<double> fractions;  // [C], sums to 1
    std::vector<int64_t> counts;    // [C]
    double kl_to_uniform = 0;
};
ClassHistogram class_histogram(const Tensor& probs);

}  // namespace mg::eval
