// The memorisation check: does a generator reproduce its training images? Each sample's
// nearest training image in the classifier's feature space (L2) is compared with each
// held-out test image's nearest training image: a generator that copies lands closer to the
// training set than real images it never saw do. See docs/evaluation.md.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace mg::eval {

// For each row of query [Nq, D], its nearest row of reference [Nr, D] (Nr >= 1) by
// Euclidean distance: squared distances from float32 GEMM blocks, first index on ties.
struct NearestRows {
    std::vector<int64_t> index;     // [Nq]
    std::vector<double> distance;   // [Nq], L2
};
NearestRows nearest_rows(const Tensor& query, const Tensor& reference);

// The q-quantile (0..1) of v, linear between order statistics as numpy.quantile's default.
double quantile(std::vector<double> v, double q);

struct Memorisation {
    NearestRows samples;        // each sample's nearest training row
    std::vector<double> test;   // each test row's distance to its nearest training row
    double closer_than_test_p1 = 0;  // share of samples nearer than the test distances' 1st percentile
};
// samples, test, train: features [N, D] of the same width; train has >= 1 row, test >= 1.
Memorisation memorisation_check(const Tensor& samples, const Tensor& test, const Tensor& train);

// {"train_images", "closer_than_test_p1", "sample_distance": {"p1", "p5", "p25", "p50"},
//  "test_distance": {...}}
nlohmann::json memorisation_json(const Memorisation& m, int64_t train_rows);

// The `count` samples nearest to the training set, each beside its nearest training image,
// as tiles for a grid: [2 * count, C, H, W] float in [0, 1]. samples: [N, C, H, W] float in
// [0, 1]; train: uint8 [Nr, C, H, W] of the same C, H, W (the rows the features came from).
Tensor nearest_pairs(const Memorisation& m, const Tensor& samples, const Tensor& train, int64_t count = 16);

}  // namespace mg::eval
