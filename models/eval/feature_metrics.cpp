// The metrics that need no pairwise work: feature statistics and the FID (float64, and per
// class), the Inception Score and the class histogram. KID is in kid.cpp, precision/recall,
// density and coverage in precision_recall.cpp, FID-infinity in fid_infinity.cpp.
#include "models/eval/feature_metrics.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "models/eval/feature_blocks.h"
#include "models/eval/symmetric_eigen.h"

namespace mg::eval {

FeatureStats feature_stats(const Tensor& features) {
    const Tensor x = detail::checked_matrix(features, "feature_stats", "features", DType::Float64);
    const int64_t n = x.size(0), d = x.size(1);
    MG_CHECK(n >= 2 && d >= 1, "feature_stats: needs at least 2 rows and 1 column for a covariance, got {}",
             features.shape());
    FeatureStats out;
    out.count = n, out.dim = d;
    out.mean.assign(size_t(d), 0.0);
    const double* p = x.data<double>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < d; ++j) out.mean[size_t(j)] += p[i * d + j];
    for (double& m : out.mean) m /= double(n);

    // Centre first (two passes), then one float64 GEMM: Xc^T Xc / (N - 1).
    Tensor centred = empty(Shape{n, d}, {DType::Float64});
    double* c = centred.data<double>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < d; ++j) c[i * d + j] = p[i * d + j] - out.mean[size_t(j)];
    Tensor scatter;
    {
        autograd::NoGradGuard no_grad;
        scatter = matmul(centred.t(), centred);
    }
    const double* s = scatter.data<double>();
    out.cov.resize(size_t(d * d));
    for (int64_t i = 0; i < d; ++i)
        for (int64_t j = 0; j < d; ++j)  // exact symmetry, whatever order the GEMM summed in
            out.cov[size_t(i * d + j)] = 0.5 * (s[i * d + j] + s[j * d + i]) / double(n - 1);
    return out;
}

namespace {

void check_stats(const FeatureStats& st, const char* which) {
    MG_CHECK(st.dim >= 1 && int64_t(st.mean.size()) == st.dim && int64_t(st.cov.size()) == st.dim * st.dim,
             "frechet_distance: statistics {} are inconsistent: dim {}, mean of {} values, covariance of {} values",
             which, st.dim, st.mean.size(), st.cov.size());
    for (double m : st.mean) MG_CHECK(std::isfinite(m), "frechet_distance: mean of statistics {} has {}", which, m);
}

// c = a · b for [n, n] row-major matrices.
std::vector<double> multiply(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
    std::vector<double> c(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < n; ++k) {
            const double aik = a[size_t(i * n + k)];
            for (int64_t j = 0; j < n; ++j) c[size_t(i * n + j)] += aik * b[size_t(k * n + j)];
        }
    return c;
}

SymmetricEigen eigen_for(const std::vector<double>& m, int64_t n, const char* what) {
    try {
        return symmetric_eigen(m, n);
    } catch (const Error& e) {
        MG_FAIL("frechet_distance: eigendecomposition of {} failed: {}", what, e.what());
    }
}

}  // namespace

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
    check_stats(a, "a");
    check_stats(b, "b");
    MG_CHECK(a.dim == b.dim, "frechet_distance: feature dims differ, {} vs {}", a.dim, b.dim);
    const int64_t d = a.dim;

    // S1^1/2 = V diag(sqrt w) V^T: symmetric PSD, defined even when S1 is singular (dead
    // features, N < D). Round-off negatives of a PSD matrix are clamped to 0.
    const SymmetricEigen e1 = eigen_for(a.cov, d, "covariance a");
    const std::vector<double> root1 = compose(e1, [](double w) { return std::sqrt(std::max(w, 0.0)); });
    // M = S1^1/2 S2 S1^1/2 is symmetric PSD and similar to S1 S2, so tr (S1 S2)^1/2 is the
    // sum of the roots of its eigenvalues; no non-symmetric square root is ever formed.
    std::vector<double> m = multiply(multiply(root1, b.cov, d), root1, d);
    for (int64_t i = 0; i < d; ++i)
        for (int64_t j = i + 1; j < d; ++j) {
            const double avg = 0.5 * (m[size_t(i * d + j)] + m[size_t(j * d + i)]);
            m[size_t(i * d + j)] = m[size_t(j * d + i)] = avg;
        }
    const SymmetricEigen em = eigen_for(m, d, "S1^1/2 S2 S1^1/2");
    double trace_root = 0;
    for (double w : em.values) trace_root += std::sqrt(std::max(w, 0.0));

    double mean_term = 0, trace_a = 0, trace_b = 0;
    for (int64_t j = 0; j < d; ++j) {
        const double diff = a.mean[size_t(j)] - b.mean[size_t(j)];
        mean_term += diff * diff;
        trace_a += a.cov[size_t(j * d + j)];
        trace_b += b.cov[size_t(j * d + j)];
    }
    // A squared distance: round-off can take equal statistics a hair below 0.
    return std::max(0.0, mean_term + trace_a + trace_b - 2 * trace_root);
}

IntraClassFid intra_class_fid(const Tensor& real, const Tensor& real_labels, const Tensor& fake,
                              const Tensor& fake_labels, int64_t classes) {
    const auto [r, f] = detail::checked_real_fake(real, fake, "intra_class_fid");
    MG_CHECK(classes >= 1, "intra_class_fid: needs at least 1 class, got {}", classes);
    // Row indices of each class of one set, its labels checked against the set and `classes`.
    auto rows_by_class = [&](const Tensor& x, const Tensor& labels, const char* which) {
        MG_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == DType::Int64 && labels.size(0) == x.size(0),
                 "intra_class_fid: {} labels must be int64 [{}], got {}", which, x.size(0),
                 labels.defined() ? fmt::format("{} {}", labels.dtype(), labels.shape()) : std::string("none"));
        std::vector<std::vector<int64_t>> rows(static_cast<size_t>(classes));
        const std::vector<int64_t> v = labels.to(Device::CPU).contiguous().to_vector<int64_t>();
        for (size_t i = 0; i < v.size(); ++i) {
            MG_CHECK(v[i] >= 0 && v[i] < classes, "intra_class_fid: {} label {} at row {} is outside [0, {})", which,
                     v[i], i, classes);
            rows[size_t(v[i])].push_back(int64_t(i));
        }
        return rows;
    };
    const auto real_rows = rows_by_class(r, real_labels, "real"), fake_rows = rows_by_class(f, fake_labels, "fake");
    IntraClassFid out;
    for (int64_t c = 0; c < classes; ++c) {
        const auto& rc = real_rows[size_t(c)];
        const auto& fc = fake_rows[size_t(c)];
        MG_CHECK(rc.size() >= 2 && fc.size() >= 2, "intra_class_fid: class {} has {} real and {} fake rows (needs 2 each)",
                 c, rc.size(), fc.size());
        out.per_class.push_back(frechet_distance(feature_stats(gather_rows(r, rc)), feature_stats(gather_rows(f, fc))));
        out.mean += out.per_class.back() / double(classes);
    }
    return out;
}

namespace {

// probs [N, C] as float64 rows, each finite, >= 0 and summing to 1 within 1e-3.
std::vector<double> checked_probabilities(const Tensor& probs, const char* fn) {
    const Tensor p = detail::checked_matrix(probs, fn, "probs", DType::Float64);
    const int64_t n = p.size(0), c = p.size(1);
    MG_CHECK(n >= 1 && c >= 1, "{}: probs must be [N, C] with N, C >= 1, got {}", fn, probs.shape());
    std::vector<double> v = p.to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
        double sum = 0;
        for (int64_t j = 0; j < c; ++j) {
            const double x = v[size_t(i * c + j)];
            MG_CHECK(x >= 0, "{}: probs {} has a negative value {} at row {}, class {}", fn, probs.shape(), x, i, j);
            sum += x;
        }
        MG_CHECK(std::abs(sum - 1) <= 1e-3, "{}: row {} of probs {} sums to {}, not 1 (pass softmax rows)", fn, i,
                 probs.shape(), sum);
    }
    return v;
}

// Population mean and standard deviation.
std::pair<double, double> mean_and_std(const std::vector<double>& v) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= double(v.size());
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    return {mean, std::sqrt(var / double(v.size()))};
}

}  // namespace

InceptionScore inception_score(const Tensor& probs, int64_t splits) {
    const std::vector<double> p = checked_probabilities(probs, "inception_score");
    const int64_t n = probs.size(0), c = probs.size(1);
    MG_CHECK(splits >= 1 && splits <= n, "inception_score: splits must be in [1, N = {}], got {} (probs {})", n,
             splits, probs.shape());
    std::vector<double> scores;
    for (int64_t s = 0; s < splits; ++s) {
        const int64_t begin = s * n / splits, end = (s + 1) * n / splits;
        std::vector<double> marginal(size_t(c), 0.0);
        for (int64_t i = begin; i < end; ++i)
            for (int64_t j = 0; j < c; ++j) marginal[size_t(j)] += p[size_t(i * c + j)];
        for (double& m : marginal) m /= double(end - begin);
        // mean over rows of KL(p(y|x) || p(y)); 0 log 0 = 0, and p(y) > 0 wherever p(y|x) > 0.
        double kl = 0;
        for (int64_t i = begin; i < end; ++i)
            for (int64_t j = 0; j < c; ++j) {
                const double pij = p[size_t(i * c + j)];
                if (pij > 0) kl += pij * (std::log(pij) - std::log(marginal[size_t(j)]));
            }
        scores.push_back(std::exp(kl / double(end - begin)));
    }
    InceptionScore out;
    std::tie(out.mean, out.std) = mean_and_std(scores);
    out.splits = splits;
    return out;
}

ClassHistogram class_histogram(const Tensor& probs) {
    const Tensor p = detail::checked_matrix(probs, "class_histogram", "probs", DType::Float64);
    const int64_t n = p.size(0), c = p.size(1);
    MG_CHECK(n >= 1 && c >= 1, "class_histogram: probs must be [N, C] with N, C >= 1, got {}", probs.shape());
    const double* v = p.data<double>();
    ClassHistogram out;
    out.counts.assign(size_t(c), 0);
    for (int64_t i = 0; i < n; ++i) {
        const double* row = v + i * c;
        ++out.counts[size_t(std::max_element(row, row + c) - row)];  // first maximum on ties
    }
    out.fractions.resize(size_t(c));
    for (int64_t j = 0; j < c; ++j) {
        const double f = double(out.counts[size_t(j)]) / double(n);
        out.fractions[size_t(j)] = f;
        if (f > 0) out.kl_to_uniform += f * std::log(f * double(c));
    }
    return out;
}

}  // namespace mg::eval
