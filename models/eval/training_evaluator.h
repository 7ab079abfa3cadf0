// What the trainer measures at every sample point beyond the model's own evaluate():
//   classifier               test accuracy (always)
//   image generators         fid, kid on `samples` samples vs the test images (samples > 0), scored
//                            by the classifier of the model's data (reference_classifier.h)
//   likelihood models        test NLL on the first `samples` test images (samples > 0)
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "models/model.h"

namespace mg::eval {

// classifier: a built-in's name or a weights file (default: the built-in of the model's data).
std::function<models::Metrics(models::Model&)> training_evaluator(
    models::Model& model, const std::optional<std::string>& data_dir, int64_t samples,
    const std::optional<std::string>& classifier = std::nullopt);

}  // namespace mg::eval
