// minigen's sample metrics against independent NumPy/SciPy implementations written from each
// paper's reference code (tests/reference/eval_metrics_ref.py): FID (scipy.linalg.sqrtm as
// pytorch-fid), KID on the subsets minigen drew, IS, precision/recall/density/coverage (prdc),
// FID-infinity, intra-class FID and nearest-neighbour distances, on stored feature files.
// Skips, saying so, where python3 with numpy and scipy is missing.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/data/random_stream.h"
#include "core/io/npy.h"
#include "helpers.h"
#include "models/eval/feature_metrics.h"
#include "models/eval/memorisation.h"

using namespace mg;

namespace {

// A python3 that has numpy and scipy (Debian's first), or "".
std::string python_with_scipy() {
    for (const char* candidate : {"/usr/bin/python3", "python3"})
        if (std::system(fmt::format("{} -c \"import numpy, scipy.linalg\" > /dev/null 2>&1", candidate).c_str()) == 0)
            return candidate;
    return "";
}

// Clustered features [N, D]: per class c a centre and an anisotropic linear map of normal
// noise (centre_scale, spread set how far apart the sets lie), rounded to float32 so that
// minigen's float32 distances start from the very values NumPy sees; stored float64.
Tensor clustered_features(const std::vector<int64_t>& labels, int64_t d, double shift, double spread,
                          uint64_t seed) {
    data::RandomStream centres(1234), rng(seed);  // the same centres and maps for both sets
    const int64_t classes = *std::max_element(labels.begin(), labels.end()) + 1;
    std::vector<double> centre(size_t(classes * d)), map(size_t(classes * d * d));
    for (double& x : centre) x = 1.5 * centres.normal();
    for (double& x : map) x = 0.4 * centres.normal();
    std::vector<double> out;
    std::vector<double> z(static_cast<size_t>(d));
    for (int64_t y : labels) {
        for (double& x : z) x = rng.normal();
        for (int64_t i = 0; i < d; ++i) {
            double v = centre[size_t(y * d + i)] + shift;
            for (int64_t j = 0; j < d; ++j) v += spread * map[size_t((y * d + i) * d + j)] * z[size_t(j)] / (1 + j % 4);
            out.push_back(double(float(v)));
        }
    }
    return from_vector(out, Shape{int64_t(labels.size()), d});
}

std::vector<int64_t> cycling_labels(int64_t n, int64_t classes) {
    std::vector<int64_t> y;
    for (int64_t i = 0; i < n; ++i) y.push_back(i % classes);
    return y;
}

// Softmax rows [n, c] of normal logits with a temperature, float64.
Tensor random_probs(int64_t n, int64_t c, uint64_t seed) {
    data::RandomStream rng(seed);
    std::vector<double> p;
    for (int64_t i = 0; i < n; ++i) {
        std::vector<double> row(static_cast<size_t>(c));
        double sum = 0;
        for (double& x : row) sum += x = std::exp(2.5 * rng.normal());
        for (double x : row) p.push_back(x / sum);
    }
    return from_vector(p, Shape{n, c});
}

Tensor rows_tensor(const std::vector<std::vector<int64_t>>& rows) {
    std::vector<int64_t> flat;
    for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    return from_vector(flat, Shape{int64_t(rows.size()), int64_t(rows[0].size())});
}

void check_relative(const char* what, double minigen, double reference, double tol) {
    INFO(what << ": minigen " << fmt::format("{:.17g}", minigen) << ", reference " << fmt::format("{:.17g}", reference));
    CHECK(std::abs(minigen - reference) <= tol * std::max(std::abs(reference), 1e-300));
}

}  // namespace

TEST_CASE("eval metrics: equal to NumPy/SciPy reference implementations on stored features") {
    const std::string python = python_with_scipy();
    if (python.empty()) {
        MESSAGE("skipped: no python3 with numpy and scipy (Debian: python3-numpy python3-scipy)");
        return;
    }
    constexpr int64_t kDim = 16, kClasses = 3, kK = 5, kIsSplits = 10, kPoints = 5;
    constexpr int64_t kKidSubsets = 8, kKidSubsetSize = 150;
    constexpr uint64_t kKidSeed = 5, kFidInfinitySeed = 9;
    const std::vector<int64_t> real_labels = cycling_labels(360, kClasses), fake_labels = cycling_labels(300, kClasses);
    const Tensor real = clustered_features(real_labels, kDim, 0.0, 1.0, 1);
    const Tensor fake = clustered_features(fake_labels, kDim, 0.25, 0.8, 2);
    const Tensor probs = random_probs(200, 10, 3);

    test::TempDir dir("eval-ref");
    io::write_npy(dir / "real.npy", real);
    io::write_npy(dir / "fake.npy", fake);
    io::write_npy(dir / "real_labels.npy", from_vector(real_labels));
    io::write_npy(dir / "fake_labels.npy", from_vector(fake_labels));
    io::write_npy(dir / "probs.npy", probs);
    // The rows minigen's KID and FID-infinity draw, for Python to use the same ones.
    std::vector<std::vector<int64_t>> kid_real, kid_fake;
    const int64_t m = std::min({kKidSubsetSize, real.size(0), fake.size(0)});
    for (int64_t s = 0; s < kKidSubsets; ++s) {
        data::RandomStream rng(kKidSeed, uint64_t(s));
        kid_real.push_back(eval::draw_rows(real.size(0), m, rng));
        kid_fake.push_back(eval::draw_rows(fake.size(0), m, rng));
    }
    io::write_npy(dir / "kid_real_rows.npy", rows_tensor(kid_real));
    io::write_npy(dir / "kid_fake_rows.npy", rows_tensor(kid_fake));
    data::RandomStream order_rng(kFidInfinitySeed, eval::kFidInfinityStream);
    io::write_npy(dir / "fid_infinity_order.npy", from_vector(eval::draw_rows(fake.size(0), fake.size(0), order_rng)));
    {
        std::FILE* f = std::fopen((dir / "params.json").c_str(), "w");
        REQUIRE(f != nullptr);
        std::fprintf(f, "%s", nlohmann::json{{"k", kK}, {"is_splits", kIsSplits}, {"fid_infinity_points", kPoints},
                                             {"classes", kClasses}}.dump().c_str());
        std::fclose(f);
    }
    const std::string out = dir / "reference.json";
    const std::string cmd = fmt::format("{} {}/tests/reference/eval_metrics_ref.py {} > {}", python,
                                        MINIGEN_SOURCE_DIR, dir.str(), out);
    REQUIRE(std::system(cmd.c_str()) == 0);
    const nlohmann::json ref = nlohmann::json::parse(test::read_file(out));
    MESSAGE("smallest gap between a distance and its k-NN radius, relative to the largest distance: "
            << ref["radius_margin"].get<double>());

    constexpr double kTol = 1e-6;
    const eval::FeatureStats real_stats = eval::feature_stats(real);
    check_relative("fid", eval::frechet_distance(real_stats, eval::feature_stats(fake)), ref["fid"], kTol);

    const eval::Kid kid = eval::kernel_inception_distance(real, fake, kKidSubsets, kKidSubsetSize, kKidSeed);
    check_relative("kid", kid.mean, ref["kid"], kTol);
    check_relative("kid_std", kid.std, ref["kid_std"], kTol);

    const eval::InceptionScore is = eval::inception_score(probs, kIsSplits);
    check_relative("is", is.mean, ref["is"], kTol);
    check_relative("is_std", is.std, ref["is_std"], kTol);

    const eval::PrecisionRecall prdc = eval::precision_recall(real, fake, kK);
    check_relative("precision", prdc.precision, ref["precision"], kTol);
    check_relative("recall", prdc.recall, ref["recall"], kTol);
    check_relative("density", prdc.density, ref["density"], kTol);
    check_relative("coverage", prdc.coverage, ref["coverage"], kTol);

    const eval::FidInfinity fi = eval::fid_infinity(real_stats, fake, kPoints, kFidInfinitySeed);
    check_relative("fid_infinity", fi.fid_infinity, ref["fid_infinity"], kTol);
    check_relative("fid_infinity slope", fi.slope, ref["fid_infinity_slope"], kTol);
    REQUIRE(fi.fids.size() == ref["fid_infinity_fids"].size());
    for (size_t i = 0; i < fi.fids.size(); ++i) check_relative("fid_infinity point", fi.fids[i], ref["fid_infinity_fids"][i], kTol);

    const eval::IntraClassFid intra =
        eval::intra_class_fid(real, from_vector(real_labels), fake, from_vector(fake_labels), kClasses);
    check_relative("intra_fid", intra.mean, ref["intra_fid"], kTol);
    for (int64_t c = 0; c < kClasses; ++c)
        check_relative("intra_fid class", intra.per_class[size_t(c)], ref["intra_fid_per_class"][size_t(c)], kTol);

    // Distances from float32 GEMM: |x|^2 + |y|^2 - 2 x.y loses digits to cancellation, so
    // these agree to float32's precision, not to 1e-6.
    const eval::NearestRows nearest = eval::nearest_rows(fake, real);
    for (size_t i = 0; i < nearest.distance.size(); ++i)
        check_relative("nearest distance", nearest.distance[i], ref["nearest_distance"][i], 1e-4);
}
