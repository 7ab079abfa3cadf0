// Scores of an image-to-image model (models/capabilities.h's Translation) on the held-out
// pairs of its data (models/paired_data.h): each input translated once, compared with its
// target, both as images (lab data: L* with the a*b* in RGB, models/paired_data.h).
//
//   l1                 mean |output - target|, pixel values in [0, 1]
//   psnr               mean over images of 10 log10(1 / MSE), dB (models/metrics.h)
//   ssim               mean over images of SSIM, Gaussian 11x11, sigma 1.5 (models/metrics.h)
//   colorfulness       RGB data: mean over outputs of Hasler & Suesstrunk's colourfulness
//                      (models/metrics.h), beside target_colorfulness, the same of the targets
//   class_accuracy     the share of outputs the data's reference classifier puts in the
//                      class of the pair (the input's), when one exists for the data; beside
//                      it target_class_accuracy, the classifier on the targets themselves (the
//                      most the outputs can reach)
//   fid, kid           with the classifier, unless options.floors is off, and for 2 pairs or
//                      more: the Frechet and kernel distances of the outputs' features to those
//                      of the training pairs' targets (the first 10,000), beside fid_floor and
//                      kid_floor, the held-out targets against the same set: how far real
//                      images of B that were not trained on are (kid_std: over KID's subsets)
#pragma once

#include <nlohmann/json.hpp>

#include "models/capabilities.h"
#include "models/eval/evaluate.h"

namespace mg::eval {

// options: samples (the most pairs scored; all held-out pairs when fewer), classifier,
// eval_batch, progress.
nlohmann::json evaluate_translation(models::Model& model, models::Translation& translation,
                                    const EvalOptions& options);

// The data name whose reference classifier scores a paired spec's targets: "emoji" for
// emoji-based pairs, else the unpaired source (fashion-mnist, folder:DIR, ...).
std::string translation_classifier_data(const std::string& paired_spec);

}  // namespace mg::eval
