// Sample-quality metrics (models/eval): the Jacobi eigensolver against closed forms and
// reconstruction; FID against the closed form of two Gaussians; KID's estimator and the
// precision/recall balls against brute-force double loops; IS and the class histogram
// against their limiting cases; and the input checks.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <tuple>
#include <utility>

#include "core/data/random_stream.h"
#include "core/data/transforms.h"
#include "helpers.h"
#include "models/eval/feature_metrics.h"
#include "models/eval/memorisation.h"
#include "models/eval/symmetric_eigen.h"

using namespace mg;
using eval::FeatureStats;

namespace {

using Matrix = std::vector<double>;  // [n, n] row-major

Matrix multiply(const Matrix& a, const Matrix& b, int64_t n) {
    Matrix c(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < n; ++k)
            for (int64_t j = 0; j < n; ++j) c[size_t(i * n + j)] += a[size_t(i * n + k)] * b[size_t(k * n + j)];
    return c;
}

Matrix transpose(const Matrix& a, int64_t n) {
    Matrix t(a.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) t[size_t(j * n + i)] = a[size_t(i * n + j)];
    return t;
}

Matrix diagonal(const std::vector<double>& d) {
    const int64_t n = int64_t(d.size());
    Matrix m(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) m[size_t(i * n + i)] = d[size_t(i)];
    return m;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

Matrix random_symmetric(int64_t n, uint64_t seed) {
    data::RandomStream rng(seed);
    Matrix a(size_t(n * n));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = i; j < n; ++j) a[size_t(i * n + j)] = a[size_t(j * n + i)] = rng.normal();
    return a;
}

// A Householder reflection I - 2 u u^T / |u|^2: orthogonal, without any eigensolver.
Matrix random_orthogonal(int64_t n, uint64_t seed) {
    data::RandomStream rng(seed);
    std::vector<double> u(static_cast<size_t>(n));
    double norm2 = 0;
    for (double& x : u) x = rng.normal(), norm2 += x * x;
    Matrix q(size_t(n * n));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) q[size_t(i * n + j)] = (i == j) - 2 * u[size_t(i)] * u[size_t(j)] / norm2;
    return q;
}

// q diag(d) q^T
Matrix conjugate(const Matrix& q, const std::vector<double>& d) {
    const int64_t n = int64_t(d.size());
    return multiply(multiply(q, diagonal(d), n), transpose(q, n), n);
}

// V diag(w) V^T reproduces a and V^T V = I, both to `tol`; values ascending.
void check_decomposition(const Matrix& a, const eval::SymmetricEigen& e, double tol) {
    const int64_t n = e.n;
    CHECK(std::is_sorted(e.values.begin(), e.values.end()));
    CHECK(max_abs_diff(conjugate(e.vectors, e.values), a) < tol);
    Matrix identity = diagonal(std::vector<double>(size_t(n), 1.0));
    CHECK(max_abs_diff(multiply(transpose(e.vectors, n), e.vectors, n), identity) < tol);
}

// N rows of N(mean, L L^T): x = mean + L z, as float32 [N, D].
Tensor gaussian_samples(int64_t rows, const std::vector<double>& mean, const Matrix& lower, uint64_t seed) {
    const int64_t d = int64_t(mean.size());
    data::RandomStream rng(seed);
    std::vector<float> out(size_t(rows * d));
    std::vector<double> z(static_cast<size_t>(d));
    for (int64_t i = 0; i < rows; ++i) {
        for (double& v : z) v = rng.normal();
        for (int64_t r = 0; r < d; ++r) {
            double x = mean[size_t(r)];
            for (int64_t c = 0; c < d; ++c) x += lower[size_t(r * d + c)] * z[size_t(c)];
            out[size_t(i * d + r)] = float(x);
        }
    }
    return from_vector(out, {rows, d});
}

Tensor isotropic_samples(int64_t rows, int64_t d, double shift, uint64_t seed) {
    return gaussian_samples(rows, std::vector<double>(size_t(d), shift), diagonal(std::vector<double>(size_t(d), 1.0)),
                            seed);
}

FeatureStats gaussian_stats(const std::vector<double>& mean, const Matrix& cov) {
    FeatureStats s;
    s.count = 1000, s.dim = int64_t(mean.size());
    s.mean = mean, s.cov = cov;
    return s;
}

// Rows of integers in [low, high): distances are exact in float32, ties and duplicates happen.
Tensor integer_grid_points(int64_t rows, int64_t d, int low, int high, uint64_t seed) {
    data::RandomStream rng(seed);
    std::vector<float> v(size_t(rows * d));
    for (float& x : v) x = float(low + int(rng.below(uint64_t(high - low))));
    return from_vector(v, {rows, d});
}

// The cubic kernel's unbiased MMD^2, by the definition's double loops in double.
double brute_force_mmd2(const Tensor& x, const Tensor& y) {
    const std::vector<double> a = x.to_vector<double>(), b = y.to_vector<double>();
    const int64_t m = x.size(0), d = x.size(1);
    auto k = [&](const std::vector<double>& p, int64_t i, const std::vector<double>& q, int64_t j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += p[size_t(i * d + c)] * q[size_t(j * d + c)];
        return std::pow(dot / double(d) + 1, 3);
    };
    double xx = 0, yy = 0, xy = 0;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) {
            if (i != j) xx += k(a, i, a, j), yy += k(b, i, b, j);
            xy += k(a, i, b, j);
        }
    return xx / double(m * (m - 1)) + yy / double(m * (m - 1)) - 2 * xy / double(m * m);
}

// Precision, recall, density and coverage by sorting every row of the exact squared-distance
// matrix; density and coverage with prdc's strict comparisons.
eval::PrecisionRecall brute_force_prdc(const Tensor& real, const Tensor& fake, int64_t k) {
    const std::vector<double> r = real.to_vector<double>(), f = fake.to_vector<double>();
    const int64_t nr = real.size(0), nf = fake.size(0), d = real.size(1);
    auto dist2 = [&](const std::vector<double>& p, int64_t i, const std::vector<double>& q, int64_t j) {
        double s = 0;
        for (int64_t c = 0; c < d; ++c) {
            const double diff = p[size_t(i * d + c)] - q[size_t(j * d + c)];
            s += diff * diff;
        }
        return s;
    };
    auto radii = [&](const std::vector<double>& p, int64_t n) {
        std::vector<double> out;
        for (int64_t i = 0; i < n; ++i) {
            std::vector<double> others;
            for (int64_t j = 0; j < n; ++j)
                if (j != i) others.push_back(dist2(p, i, p, j));
            std::sort(others.begin(), others.end());
            out.push_back(others[size_t(k - 1)]);
        }
        return out;
    };
    const std::vector<double> rr = radii(r, nr), rf = radii(f, nf);
    int64_t precise = 0, recalled = 0, balls = 0, covered = 0;
    for (int64_t i = 0; i < nf; ++i) {
        bool in = false;
        for (int64_t j = 0; j < nr; ++j) {
            in = in || dist2(f, i, r, j) <= rr[size_t(j)];
            balls += dist2(f, i, r, j) < rr[size_t(j)];
        }
        precise += in;
    }
    for (int64_t j = 0; j < nr; ++j) {
        bool in = false;
        double nearest = INFINITY;
        for (int64_t i = 0; i < nf; ++i) {
            in = in || dist2(f, i, r, j) <= rf[size_t(i)];
            nearest = std::min(nearest, dist2(f, i, r, j));
        }
        recalled += in;
        covered += nearest < rr[size_t(j)];
    }
    eval::PrecisionRecall out;
    out.precision = double(precise) / double(nf);
    out.recall = double(recalled) / double(nr);
    out.density = double(balls) / double(k * nf);
    out.coverage = double(covered) / double(nr);
    return out;
}

// The error message contains `text` (an empty message means nothing was thrown).
void check_mentions(const std::string& message, const char* text) {
    INFO("message: \"" << message << "\", expected to contain \"" << text << "\"");
    CHECK(message.find(text) != std::string::npos);
}

}  // namespace

TEST_CASE("eval metrics: Jacobi eigensolver on known matrices") {
    SUBCASE("diagonal") {
        eval::SymmetricEigen e = eval::symmetric_eigen(diagonal({3, -1, 2}), 3);
        CHECK(e.values == std::vector<double>{-1, 2, 3});
        CHECK(e.sweeps == 0);
        CHECK(std::abs(e.vectors[0 * 3 + 2]) == 1.0);  // value 3 came from row/column 0
        check_decomposition(diagonal({3, -1, 2}), e, 1e-15);
    }
    SUBCASE("2x2 closed form") {
        const double a = 2, b = -0.7, c = 5;
        eval::SymmetricEigen e = eval::symmetric_eigen({a, b, b, c}, 2);
        const double mid = (a + c) / 2, radius = std::sqrt((a - c) * (a - c) / 4 + b * b);
        CHECK(e.values[0] == doctest::Approx(mid - radius).epsilon(1e-14));
        CHECK(e.values[1] == doctest::Approx(mid + radius).epsilon(1e-14));
        check_decomposition({a, b, b, c}, e, 1e-14);
    }
    SUBCASE("random symmetric 40 x 40") {
        const Matrix a = random_symmetric(40, 7);
        eval::SymmetricEigen e = eval::symmetric_eigen(a, 40);
        check_decomposition(a, e, 1e-10);
        double trace = 0, sum = 0;
        for (int64_t i = 0; i < 40; ++i) trace += a[size_t(i * 40 + i)], sum += e.values[size_t(i)];
        CHECK(sum == doctest::Approx(trace).epsilon(1e-12));
        CHECK(e.off_diagonal <= 1e-12);
    }
    SUBCASE("repeated eigenvalues") {
        const std::vector<double> w = {5, 1, 5, 1, 1};
        const Matrix a = conjugate(random_orthogonal(5, 3), w);
        eval::SymmetricEigen e = eval::symmetric_eigen(a, 5);
        const std::vector<double> expected = {1, 1, 1, 5, 5};
        for (size_t i = 0; i < 5; ++i) CHECK(e.values[i] == doctest::Approx(expected[i]).epsilon(1e-12));
        check_decomposition(a, e, 1e-12);
    }
    SUBCASE("a 128 x 128 covariance converges in a few sweeps") {
        const Tensor x = isotropic_samples(300, 128, 0.0, 5);
        const FeatureStats s = eval::feature_stats(x);
        eval::SymmetricEigen e = eval::symmetric_eigen(s.cov, 128);
        CHECK(e.sweeps <= 15);
        check_decomposition(s.cov, e, 1e-10);
    }
    SUBCASE("no convergence and bad input are errors") {
        std::string err = test::error_of([] { eval::symmetric_eigen(random_symmetric(30, 2), 30, 1e-12, 2); });
        check_mentions(err, "symmetric_eigen: no convergence");
        check_mentions(test::error_of([] { eval::symmetric_eigen({1, 2, 3, 4}, 2); }), "not symmetric");
        check_mentions(test::error_of([] { eval::symmetric_eigen({1, 2, 3}, 2); }), "symmetric_eigen");
        check_mentions(test::error_of([] { eval::symmetric_eigen({1, NAN, NAN, 1}, 2); }), "symmetric_eigen");
    }
}

TEST_CASE("eval metrics: feature statistics match the direct formulas") {
    const Tensor x = isotropic_samples(50, 6, 1.5, 11).to(DType::Float64);
    const FeatureStats s = eval::feature_stats(x);
    const std::vector<double> v = x.to_vector<double>();
    REQUIRE(s.count == 50);
    REQUIRE(s.dim == 6);
    for (int64_t a = 0; a < 6; ++a) {
        double mean_a = 0;
        for (int64_t i = 0; i < 50; ++i) mean_a += v[size_t(i * 6 + a)] / 50;
        CHECK(s.mean[size_t(a)] == doctest::Approx(mean_a).epsilon(1e-12));
        for (int64_t b = 0; b < 6; ++b) {
            double mean_b = 0, c = 0;
            for (int64_t i = 0; i < 50; ++i) mean_b += v[size_t(i * 6 + b)] / 50;
            for (int64_t i = 0; i < 50; ++i) c += (v[size_t(i * 6 + a)] - mean_a) * (v[size_t(i * 6 + b)] - mean_b);
            CHECK(s.cov[size_t(a * 6 + b)] == doctest::Approx(c / 49).epsilon(1e-10));
        }
    }
}

TEST_CASE("eval metrics: FID matches the closed form of two Gaussians") {
    SUBCASE("a set against itself is 0") {
        const Tensor x = gaussian_samples(2000, std::vector<double>(32, 3.0), random_symmetric(32, 4), 9);
        const FeatureStats s = eval::feature_stats(x);
        CHECK(std::abs(eval::frechet_distance(s, s)) < 1e-6);
    }
    SUBCASE("diagonal covariances") {
        const std::vector<double> s1 = {1, 4, 0.25, 2}, s2 = {9, 1, 0.25, 0.5}, m1 = {0, 1, 2, 3}, m2 = {1, 1, 0, 3};
        double expected = 0;
        for (size_t i = 0; i < 4; ++i)
            expected += s1[i] + s2[i] - 2 * std::sqrt(s1[i] * s2[i]) + (m1[i] - m2[i]) * (m1[i] - m2[i]);
        const double fid = eval::frechet_distance(gaussian_stats(m1, diagonal(s1)), gaussian_stats(m2, diagonal(s2)));
        CHECK(fid == doctest::Approx(expected).epsilon(1e-12));
    }
    SUBCASE("a singular covariance needs no regularisation") {
        const double fid = eval::frechet_distance(gaussian_stats({0, 0}, diagonal({0, 1})),
                                                  gaussian_stats({0, 0}, diagonal({1, 1})));
        CHECK(fid == doctest::Approx(1.0).epsilon(1e-12));
    }
    SUBCASE("non-commuting 2 x 2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))") {
        // M = S1^1/2 S2 S1^1/2 has tr M = tr(S1 S2) and det M = det S1 det S2.
        const Matrix s1 = {2, 0.5, 0.5, 1}, s2 = {1, -0.3, -0.3, 2};
        const Matrix product = multiply(s1, s2, 2);
        const double tr_m = product[0] + product[3];
        const double det_m = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2]);
        const double trace_root = std::sqrt(tr_m + 2 * std::sqrt(det_m));
        const double expected = (0.5 * 0.5 + 1.0) + (s1[0] + s1[3]) + (s2[0] + s2[3]) - 2 * trace_root;
        const double fid = eval::frechet_distance(gaussian_stats({0, 0}, s1), gaussian_stats({0.5, -1}, s2));
        CHECK(fid == doctest::Approx(expected).epsilon(1e-12));
        // Symmetric in its arguments, although the computation is not.
        CHECK(eval::frechet_distance(gaussian_stats({0.5, -1}, s2), gaussian_stats({0, 0}, s1)) ==
              doctest::Approx(expected).epsilon(1e-12));
    }
    SUBCASE("shared eigenvectors in 16 dims: sum (sqrt a - sqrt b)^2") {
        const Matrix q = random_orthogonal(16, 8);
        std::vector<double> a(16), b(16);
        data::RandomStream rng(12);
        double expected = 0;
        for (size_t i = 0; i < 16; ++i) {
            a[i] = 0.1 + 3 * rng.uniform(), b[i] = 0.1 + 3 * rng.uniform();
            expected += (std::sqrt(a[i]) - std::sqrt(b[i])) * (std::sqrt(a[i]) - std::sqrt(b[i]));
        }
        const double fid = eval::frechet_distance(gaussian_stats(std::vector<double>(16, 0.0), conjugate(q, a)),
                                                  gaussian_stats(std::vector<double>(16, 0.0), conjugate(q, b)));
        CHECK(fid == doctest::Approx(expected).epsilon(1e-10));
    }
}

TEST_CASE("eval metrics: FID from samples approaches the closed form") {
    // S1 = L1 L1^T = [[4, 2], [2, 2]], S2 = L2 L2^T = [[1, -1], [-1, 2]]: they do not commute.
    const Matrix l1 = {2, 0, 1, 1}, l2 = {1, 0, -1, 1};
    const Matrix s1 = multiply(l1, transpose(l1, 2), 2), s2 = multiply(l2, transpose(l2, 2), 2);
    const Matrix product = multiply(s1, s2, 2);
    const double det_m = (s1[0] * s1[3] - s1[1] * s1[2]) * (s2[0] * s2[3] - s2[1] * s2[2]);
    const double trace_root = std::sqrt(product[0] + product[3] + 2 * std::sqrt(det_m));
    const double expected = 1.0 + (s1[0] + s1[3]) + (s2[0] + s2[3]) - 2 * trace_root;  // means differ by (1, 0)
    const double fid = eval::frechet_distance(eval::feature_stats(gaussian_samples(40000, {0, 0}, l1, 1)),
                                              eval::feature_stats(gaussian_samples(40000, {1, 0}, l2, 2)));
    INFO("closed form " << expected << ", from samples " << fid);
    CHECK(std::abs(fid - expected) < 0.05);
    CHECK(std::abs(fid - expected) < 0.05 * expected);
}

TEST_CASE("eval metrics: KID's unbiased estimator") {
    SUBCASE("matches the brute-force double loop (blocks of 1024 rows and a remainder)") {
        for (int64_t rows : {30, 1100}) {
            CAPTURE(rows);
            const Tensor x = isotropic_samples(rows, 8, 0.0, 1), y = isotropic_samples(rows, 8, 0.3, 2);
            // subset_size >= rows: every subset is the whole set, so the estimate is exact.
            eval::Kid kid = eval::kernel_inception_distance(x, y, 2, 5000, 0);
            CHECK(kid.subset_size == rows);
            CHECK(kid.subsets == 2);
            const double expected = brute_force_mmd2(x, y);
            CHECK(kid.mean == doctest::Approx(expected).epsilon(1e-4));
            CHECK(kid.std < 1e-6 * std::abs(expected));
        }
    }
    SUBCASE("near 0 for one distribution, clearly positive for two") {
        const Tensor x = isotropic_samples(2000, 16, 0.0, 3), same = isotropic_samples(2000, 16, 0.0, 4);
        const Tensor shifted = isotropic_samples(2000, 16, 0.25, 5);
        eval::Kid null = eval::kernel_inception_distance(x, same, 20, 500, 0);
        eval::Kid apart = eval::kernel_inception_distance(x, shifted, 20, 500, 0);
        INFO("same: " << null.mean << " +- " << null.std << "; shifted: " << apart.mean << " +- " << apart.std);
        CHECK(null.std > 0);
        CHECK(std::abs(null.mean) < 3 * null.std);
        CHECK(apart.mean > 5 * apart.std);
        CHECK(apart.mean > 10 * null.std);
    }
    SUBCASE("the seed picks the subsets; subset_size is clipped to the smaller set") {
        const Tensor x = isotropic_samples(300, 4, 0.0, 6), y = isotropic_samples(200, 4, 0.5, 7);
        eval::Kid a = eval::kernel_inception_distance(x, y, 5, 100, 1);
        eval::Kid b = eval::kernel_inception_distance(x, y, 5, 100, 1);
        eval::Kid c = eval::kernel_inception_distance(x, y, 5, 100, 2);
        CHECK(a.mean == b.mean);
        CHECK(a.mean != c.mean);
        CHECK(eval::kernel_inception_distance(x, y, 1, 1000, 0).subset_size == 200);
    }
}

TEST_CASE("eval metrics: Inception Score") {
    SUBCASE("uniform one-hot rows score the number of classes; identical rows score 1") {
        std::vector<float> one_hot(100 * 10, 0.0f);
        for (int64_t i = 0; i < 100; ++i) one_hot[size_t(i * 10 + i % 10)] = 1;
        eval::InceptionScore is = eval::inception_score(from_vector(one_hot, {100, 10}), 10);
        CHECK(is.mean == doctest::Approx(10.0).epsilon(1e-12));
        CHECK(is.std < 1e-12);
        CHECK(is.splits == 10);
        const Tensor same = softmax(randn({60, 7}).slice(0, 0, 1).expand({60, 7}).contiguous(), 1);
        CHECK(eval::inception_score(same, 3).mean == doctest::Approx(1.0).epsilon(1e-6));
    }
    SUBCASE("exp(H(mean p) - mean H(p)) on random rows, uneven splits") {
        manual_seed(3);
        const Tensor probs = softmax(randn({10, 5}, {DType::Float64}) * 2.0, 1);
        const std::vector<double> p = probs.to_vector<double>();
        std::vector<double> scores;
        for (auto [begin, end] : {std::pair{0, 3}, {3, 6}, {6, 10}}) {  // 10 rows in 3 splits: 3, 3, 4
            std::vector<double> marginal(5, 0.0);
            double mean_entropy = 0;
            for (int i = begin; i < end; ++i)
                for (int c = 0; c < 5; ++c) {
                    marginal[size_t(c)] += p[size_t(i * 5 + c)] / (end - begin);
                    mean_entropy -= p[size_t(i * 5 + c)] * std::log(p[size_t(i * 5 + c)]) / (end - begin);
                }
            double marginal_entropy = 0;
            for (double m : marginal) marginal_entropy -= m * std::log(m);
            scores.push_back(std::exp(marginal_entropy - mean_entropy));
        }
        const double mean = (scores[0] + scores[1] + scores[2]) / 3;
        double var = 0;
        for (double s : scores) var += (s - mean) * (s - mean) / 3;
        eval::InceptionScore is = eval::inception_score(probs, 3);
        CHECK(is.mean == doctest::Approx(mean).epsilon(1e-12));
        CHECK(is.std == doctest::Approx(std::sqrt(var)).epsilon(1e-9));
    }
}

TEST_CASE("eval metrics: improved precision and recall, density and coverage") {
    SUBCASE("identical sets: 1 and 1") {
        const Tensor x = isotropic_samples(500, 16, 0.0, 8);
        eval::PrecisionRecall pr = eval::precision_recall(x, x);
        CHECK(pr.precision == 1.0);
        CHECK(pr.recall == 1.0);
        CHECK(pr.coverage == 1.0);  // each point is its own nearest fake point
        CHECK(pr.k == 3);
    }
    SUBCASE("two draws of one distribution: density near 1, coverage near its expectation") {
        // Naeem et al.: E[density] = 1 and E[coverage] = 1 - (N-1)...(N-k) / ((M+N-1)...(M+N-k))
        // for identical real and fake distributions, M = N = 2000, k = 3: 1 - 1/8 (nearly).
        eval::PrecisionRecall pr =
            eval::precision_recall(isotropic_samples(2000, 8, 0.0, 3), isotropic_samples(2000, 8, 0.0, 4));
        CHECK(pr.density == doctest::Approx(1.0).epsilon(0.1));
        CHECK(pr.coverage == doctest::Approx(0.875).epsilon(0.03));
    }
    SUBCASE("far apart sets: 0 and 0") {
        eval::PrecisionRecall pr =
            eval::precision_recall(isotropic_samples(100, 8, 0.0, 1), isotropic_samples(100, 8, 50.0, 2));
        CHECK(pr.precision == 0.0);
        CHECK(pr.recall == 0.0);
        CHECK(pr.density == 0.0);
        CHECK(pr.coverage == 0.0);
    }
    SUBCASE("brute-force k-NN on integer points (exact ties and duplicates)") {
        for (auto [rows_real, rows_fake, neighbours] : {std::tuple{60, 50, 3}, {40, 70, 1}, {1100, 1050, 3}}) {
            const int64_t n_real = rows_real, n_fake = rows_fake, k = neighbours;
            CAPTURE(n_real);
            CAPTURE(n_fake);
            CAPTURE(k);
            const Tensor real = integer_grid_points(n_real, 5, 0, 8, 21);
            const Tensor fake = integer_grid_points(n_fake, 5, 2, 9, 22);
            const eval::PrecisionRecall want = brute_force_prdc(real, fake, k);
            eval::PrecisionRecall pr = eval::precision_recall(real, fake, k);
            CHECK(pr.precision == want.precision);
            CHECK(pr.recall == want.recall);
            CHECK(pr.density == doctest::Approx(want.density).epsilon(1e-12));
            CHECK(pr.coverage == want.coverage);
            CHECK(want.precision > 0.05);  // the case is not degenerate
            CHECK(want.precision < 0.95);
            CHECK(want.coverage > 0.05);
            CHECK(want.coverage < 0.95);
        }
    }
}

TEST_CASE("eval metrics: FID-infinity removes the 1/N bias of FID") {
    // Both sets from one distribution: FID_N is all bias, ~ c / N; the intercept is near 0.
    const Tensor real = isotropic_samples(4000, 8, 0.0, 31), fake = isotropic_samples(1000, 8, 0.0, 32);
    const FeatureStats real_stats = eval::feature_stats(real);
    const eval::FidInfinity fi = eval::fid_infinity(real_stats, fake, 5, 7);
    CHECK(fi.sizes == std::vector<int64_t>{200, 400, 600, 800, 1000});
    // The last point is every row (in another order): the plain FID.
    CHECK(fi.fids.back() == doctest::Approx(eval::frechet_distance(real_stats, eval::feature_stats(fake))).epsilon(1e-9));
    CHECK(fi.fids.front() > fi.fids.back());  // fewer rows, more bias
    CHECK(fi.slope > 0);
    CHECK(std::abs(fi.fid_infinity) < 0.3 * fi.fids.back());
    // The line passes through the points' centroid.
    double mx = 0, my = 0;
    for (size_t i = 0; i < 5; ++i) mx += 1.0 / double(fi.sizes[i]) / 5, my += fi.fids[i] / 5;
    CHECK(fi.fid_infinity + fi.slope * mx == doctest::Approx(my).epsilon(1e-12));
    check_mentions(test::error_of([&] { eval::fid_infinity(real_stats, isotropic_samples(9, 8, 0.0, 1), 5); }),
                   "fid_infinity: 9 fake rows are too few");
    check_mentions(test::error_of([&] { eval::fid_infinity(real_stats, fake, 1); }), "fid_infinity: needs at least 2");
}

TEST_CASE("eval metrics: intra-class FID is the FID of each class's rows") {
    // Class c: mean shift 3c on both sides; fake class 1 is drawn around the wrong mean.
    std::vector<Tensor> real_parts, fake_parts;
    std::vector<int64_t> real_labels, fake_labels;
    for (int64_t c = 0; c < 3; ++c) {
        real_parts.push_back(isotropic_samples(60, 4, 3.0 * double(c), uint64_t(40 + c)));
        fake_parts.push_back(isotropic_samples(50, 4, c == 1 ? 6.0 : 3.0 * double(c), uint64_t(50 + c)));
        real_labels.insert(real_labels.end(), 60, c);
        fake_labels.insert(fake_labels.end(), 50, c);
    }
    const eval::IntraClassFid intra = eval::intra_class_fid(cat(real_parts, 0), from_vector(real_labels),
                                                            cat(fake_parts, 0), from_vector(fake_labels), 3);
    REQUIRE(intra.per_class.size() == 3);
    for (int64_t c = 0; c < 3; ++c)
        CHECK(intra.per_class[size_t(c)] == doctest::Approx(eval::frechet_distance(
                                                eval::feature_stats(real_parts[size_t(c)]),
                                                eval::feature_stats(fake_parts[size_t(c)])))
                                                .epsilon(1e-12));
    CHECK(intra.per_class[1] > 20 * intra.per_class[0]);  // 4 dims shifted by 3: ~36
    CHECK(intra.mean == doctest::Approx((intra.per_class[0] + intra.per_class[1] + intra.per_class[2]) / 3));
    const Tensor x = cat(real_parts, 0), y = from_vector(real_labels);
    check_mentions(test::error_of([&] { eval::intra_class_fid(x, y, x, y, 4); }),
                   "intra_class_fid: class 3 has 0 real and 0 fake rows");
    check_mentions(test::error_of([&] { eval::intra_class_fid(x, y, x, y, 2); }),
                   "intra_class_fid: real label 2 at row 120 is outside [0, 2)");
    check_mentions(test::error_of([&] { eval::intra_class_fid(x, y.slice(0, 0, 5), x, y, 3); }),
                   "intra_class_fid: real labels must be int64 [180]");
}

TEST_CASE("eval metrics: memorisation check finds copied training rows") {
    const Tensor train = isotropic_samples(500, 8, 0.0, 61), test = isotropic_samples(200, 8, 0.0, 62);
    // 20 samples copy training rows 7, 32, 57, ...; 80 are new draws.
    std::vector<int64_t> copied;
    for (int64_t i = 0; i < 20; ++i) copied.push_back(7 + 25 * i);
    const Tensor samples = cat({eval::gather_rows(train, copied), isotropic_samples(80, 8, 0.0, 63)}, 0);
    const eval::Memorisation m = eval::memorisation_check(samples, test, train);
    for (int64_t i = 0; i < 20; ++i) {
        CHECK(m.samples.index[size_t(i)] == copied[size_t(i)]);
        CHECK(m.samples.distance[size_t(i)] < 1e-2);
    }
    // The new draws lie as far from the training rows as the test rows do.
    const double p50_new = eval::quantile({m.samples.distance.begin() + 20, m.samples.distance.end()}, 0.5);
    CHECK(p50_new == doctest::Approx(eval::quantile(m.test, 0.5)).epsilon(0.15));
    CHECK(m.closer_than_test_p1 >= 0.2);
    CHECK(m.closer_than_test_p1 <= 0.25);
    // Exact distances of the other rows, by brute force.
    const std::vector<double> s = samples.to_vector<double>(), t = train.to_vector<double>();
    for (int64_t i = 20; i < 100; i += 13) {
        double best = INFINITY;
        for (int64_t j = 0; j < 500; ++j) {
            double d2 = 0;
            for (int64_t c = 0; c < 8; ++c) d2 += (s[size_t(i * 8 + c)] - t[size_t(j * 8 + c)]) * (s[size_t(i * 8 + c)] - t[size_t(j * 8 + c)]);
            best = std::min(best, std::sqrt(d2));
        }
        CHECK(m.samples.distance[size_t(i)] == doctest::Approx(best).epsilon(1e-4));
    }
    nlohmann::json j = eval::memorisation_json(m, 500);
    CHECK(j["train_images"] == 500);
    CHECK(j["closer_than_test_p1"].get<double>() == m.closer_than_test_p1);
    CHECK(j["sample_distance"]["p1"].get<double>() < 1e-2);

    // The grid's tiles: the copies first (nearest), each beside its training image.
    const Tensor images = rand({100, 1, 2, 2});
    Tensor train_images = randint(0, 256, {500, 1, 2, 2}).to(DType::UInt8);
    const Tensor pairs = eval::nearest_pairs(m, images, train_images, 4);
    REQUIRE(pairs.shape() == Shape{8, 1, 2, 2});
    std::vector<int64_t> order(100);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return m.samples.distance[size_t(x)] < m.samples.distance[size_t(y)]; });
    for (int64_t p = 0; p < 4; ++p) {
        const int64_t sample = order[size_t(p)], nearest = m.samples.index[size_t(sample)];
        CHECK(sample < 20);  // a copy
        CHECK(pairs.slice(0, 2 * p, 2 * p + 1).to_vector<float>() ==
              images.slice(0, sample, sample + 1).to_vector<float>());
        CHECK(pairs.slice(0, 2 * p + 1, 2 * p + 2).to_vector<float>() ==
              data::to_float(train_images.slice(0, nearest, nearest + 1), data::PixelRange::ZeroOne).to_vector<float>());
    }
    check_mentions(test::error_of([&] { eval::nearest_pairs(m, rand({100, 1, 3, 3}), train_images); }),
                   "memorisation grid: samples [100, 1, 3, 3] and training images [500, 1, 2, 2] differ");
}

TEST_CASE("eval metrics: quantiles as numpy.quantile") {
    CHECK(eval::quantile({4, 1, 3, 2}, 0.5) == 2.5);
    CHECK(eval::quantile({4, 1, 3, 2}, 0.0) == 1.0);
    CHECK(eval::quantile({4, 1, 3, 2}, 1.0) == 4.0);
    CHECK(eval::quantile({4, 1, 3, 2}, 0.01) == doctest::Approx(1.03).epsilon(1e-12));
    CHECK(eval::quantile({5}, 0.3) == 5.0);
    check_mentions(test::error_of([&] { eval::quantile({}, 0.5); }), "quantile");
}

TEST_CASE("eval metrics: class histogram and its KL to uniform") {
    std::vector<float> one_class(20 * 10, 0.0f);
    for (int64_t i = 0; i < 20; ++i) one_class[size_t(i * 10 + 4)] = 1;
    eval::ClassHistogram h = eval::class_histogram(from_vector(one_class, {20, 10}));
    CHECK(h.kl_to_uniform == doctest::Approx(std::log(10.0)).epsilon(1e-12));
    CHECK(h.fractions[4] == 1.0);
    CHECK(h.counts[4] == 20);

    // Classes 0, 0, 1, 2 of C = 4: KL = 1/2 log 2 + 2 * 1/4 log 1 = log(2) / 2.
    const Tensor probs = from_vector<float>({0.7f, 0.1f, 0.1f, 0.1f, 0.4f, 0.3f, 0.2f, 0.1f, 0.1f, 0.8f, 0.05f, 0.05f,
                                             0.2f, 0.2f, 0.5f, 0.1f},
                                            {4, 4});
    eval::ClassHistogram mixed = eval::class_histogram(probs);
    CHECK(mixed.fractions == std::vector<double>{0.5, 0.25, 0.25, 0.0});
    CHECK(mixed.kl_to_uniform == doctest::Approx(std::log(2.0) / 2).epsilon(1e-12));

    std::vector<float> balanced(40 * 4, 0.0f);
    for (int64_t i = 0; i < 40; ++i) balanced[size_t(i * 4 + i % 4)] = 1;
    CHECK(std::abs(eval::class_histogram(from_vector(balanced, {40, 4})).kl_to_uniform) < 1e-15);
}

TEST_CASE("eval metrics: bad inputs are errors that name the function and the shapes") {
    const Tensor x = randn({20, 8}), other_dim = randn({20, 6}), one_row = randn({1, 8}), flat = randn({8});
    check_mentions(test::error_of([&] { eval::feature_stats(flat); }), "feature_stats");
    check_mentions(test::error_of([&] { eval::feature_stats(one_row); }), "feature_stats: needs at least 2 rows");
    check_mentions(test::error_of([&] { eval::feature_stats(one_row); }), "[1, 8]");
    check_mentions(test::error_of([&] { eval::feature_stats(randint(0, 3, {5, 2})); }), "float32 or float64");
    const FeatureStats stats_8 = eval::feature_stats(x), stats_6 = eval::feature_stats(other_dim);
    check_mentions(test::error_of([&] { eval::frechet_distance(stats_8, stats_6); }),
                   "frechet_distance: feature dims differ");
    FeatureStats broken = eval::feature_stats(x);
    broken.cov.pop_back();
    check_mentions(test::error_of([&] { eval::frechet_distance(broken, broken); }), "frechet_distance");

    check_mentions(test::error_of([&] { eval::kernel_inception_distance(x, other_dim); }),
                   "kernel_inception_distance: feature dims differ");
    check_mentions(test::error_of([&] { eval::kernel_inception_distance(x, one_row); }),
                   "kernel_inception_distance: needs at least 2 rows");
    check_mentions(test::error_of([&] { eval::kernel_inception_distance(flat, x); }), "kernel_inception_distance");
    check_mentions(test::error_of([&] { eval::kernel_inception_distance(x, x, 0); }), "subsets");

    check_mentions(test::error_of([&] { eval::precision_recall(x, other_dim); }), "precision_recall: feature dims");
    check_mentions(test::error_of([&] { eval::precision_recall(x, randn({3, 8})); }),
                   "precision_recall: each set needs more than k = 3 rows");
    check_mentions(test::error_of([&] { eval::precision_recall(x, x, 0); }), "precision_recall");
    Tensor with_nan = x.clone();
    with_nan.data<float>()[5] = NAN;
    check_mentions(test::error_of([&] { eval::precision_recall(x, with_nan); }), "precision_recall: fake");

    const Tensor probs = softmax(randn({6, 4}), 1);
    check_mentions(test::error_of([&] { eval::inception_score(probs, 7); }), "inception_score: splits");
    check_mentions(test::error_of([&] { eval::inception_score(randn({6, 4}), 2); }), "inception_score");
    check_mentions(test::error_of([&] { eval::inception_score(flat, 1); }), "inception_score");
    check_mentions(test::error_of([&] { eval::class_histogram(flat); }), "class_histogram");
    check_mentions(test::error_of([&] { eval::class_histogram(zeros({0, 4})); }), "class_histogram");
}
