// `minigen eval`: every metric that applies to a model, as one JSON object.
//
//   image generators   fid, fid_infinity (+ fid_infinity_points), kid, kid_std, is, is_std,
//                      precision, recall, density, coverage, class_kl, class_histogram,
//                      memorisation (+ class_accuracy, intra_fid, intra_fid_per_class and,
//                      with cas, cas and cas_real for conditional models), on
//                      `samples` samples vs the real test images (Fashion-MNIST's 10,000, or
//                      an image data set's held-out split), in the feature space of the
//                      reference classifier of that data (reference_classifier.h; its SHA-256
//                      is reported as "classifier", with its name, input size and accuracy)
//   likelihood models  nll_nats, nll_bits_per_dim (+ elbo, iwae for VAEs) on the test images
//   gan2d              modes_covered, hq_fraction
//   floors             the same sample metrics for as many training images as there are test
//                      images ("floor": what a perfect generator would score) and for uniform
//                      noise ("ceiling")
//   every result       "protocol": the card of how it was computed (protocol.h)
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "models/model.h"

namespace mg::eval {

struct EvalOptions {
    int64_t samples = 10000;            // generated images to score (0: no sample metrics)
    int64_t likelihood_images = 10000;  // test images for NLL (0: all)
    int64_t iwae_k = 100;
    int64_t kid_subsets = 100, kid_subset_size = 1000;
    int64_t pr_k = 3;                   // k of precision/recall and density/coverage
    int64_t fid_infinity_points = 5;   // 0: no FID-infinity
    // Training images (a seeded subset) the memorisation check searches (0: no check), and
    // where to write its grid of the nearest 16 pairs (PNG; none when unset).
    int64_t memorisation_images = 10000;
    std::optional<std::string> memorisation_grid;
    bool cas = false;                   // train a classifier on the samples (conditional models)
    int64_t cas_steps = 600;
    bool floors = true;
    uint64_t seed = 0;
    std::optional<std::string> data_dir;    // Fashion-MNIST's directory
    // The real images scored against: Fashion-MNIST (the default), or an image data set
    // (source Images: its spec, size and channels). evaluate_model takes the model's.
    models::DataSpec data;
    // A built-in's name or a weights file; default: the built-in trained on `data`.
    std::optional<std::string> classifier;
    // Images per classifier call. Not part of the protocol: features and metrics are bit
    // for bit the same at any value (and thread count).
    int64_t eval_batch = 500;
    // What the scored sample values are, for the protocol card (a sample file: cmd_eval).
    std::string sample_values = "float from the model, clamped to [0, 1], not quantised";
    bool progress = true;                   // a line per phase on stderr
    double progress_after_s = 3.0;          // a phase running longer shows done/total, rate, ETA
};

nlohmann::json evaluate_model(models::Model& model, const EvalOptions& options);

// Scores images [N,C,H,W] in [0,1] against the test images of options.data. intended_labels:
// int64 [N], the classes a conditional model was asked for (adds class_accuracy when the
// classifier knows the data's classes), or undefined.
nlohmann::json score_images(const Tensor& images, const Tensor& intended_labels, const EvalOptions& options);

// {"floor": {...}, "ceiling": {...}}: see above.
nlohmann::json floors_and_ceilings(const EvalOptions& options);

// A sample file (.npy, or IDX as Fashion-MNIST's, optionally gzipped) as images
// [N,C,H,W] float32 in [0,1]. Accepts uint8 (0..255) or float data in [0,1] (or [-1,1]
// when `minus_one_one`), shaped [N,H,W], [N,C,H,W] (C 1 or 3) or, uint8 only, [N,H,W,C] as
// PyTorch and NumPy images are saved; anything else is an error naming the file and what is
// wrong. values (optional): what the values were, for the protocol card.
Tensor load_sample_file(const std::string& path, bool minus_one_one = false, std::string* values = nullptr);

}  // namespace mg::eval
