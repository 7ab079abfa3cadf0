#include "models/eval/training_evaluator.h"

#include <memory>

#include "core/data/transforms.h"
#include "models/classifier/classifier.h"
#include "models/eval/evaluate.h"
#include "models/eval/real_images.h"
#include "models/eval/reference_classifier.h"
#include "models/eval/translation.h"
#include "models/capabilities.h"

namespace mg::eval {

std::function<models::Metrics(models::Model&)> training_evaluator(models::Model& model,
                                                                  const std::optional<std::string>& data_dir,
                                                                  int64_t samples,
                                                                  const std::optional<std::string>& classifier) {
    if (model.name() == "classifier") {
        // The test set (an image set's held-out split) is loaded once, when the run starts,
        // not at every sample point.
        auto test = std::make_shared<RealImages>(load_real_images(model.data_spec(), RealSplit::HeldOut, data_dir));
        auto images = std::make_shared<Tensor>(data::to_float(test->images, data::PixelRange::ZeroOne));
        return [test, images](models::Model& m) -> models::Metrics {
            return {{"test_accuracy", models::classifier_accuracy(models::classifier_network(m), *images, test->labels)}};
        };
    }
    const models::DataSpec spec = model.data_spec();
    if (samples <= 0 || spec.source == models::DataSpec::Source::Toy2d) return {};
    if (models::as<models::Translation>(model)) {  // pix2pix: its held-out pairs, not FID
        EvalOptions options;
        options.samples = samples;
        options.classifier = classifier;
        options.progress = false;
        options.floors = false;  // no FID/KID against the training targets at every sample point
        return [options](models::Model& m) -> models::Metrics {
            nlohmann::json j = evaluate_translation(m, *models::as<models::Translation>(m), options);
            models::Metrics out;
            for (const char* key : {"l1", "psnr", "ssim", "class_accuracy"})  // beside the step's own l1
                if (j.contains(key)) out.emplace_back(std::string("test_") + key, j[key].get<double>());
            return out;
        };
    }
    // The classifier of the model's data, chosen as minigen eval chooses it: none is an
    // error now, before training starts.
    if (models::as<models::Sampler>(model)) ReferenceClassifier::select(classifier, data_name(spec));
    EvalOptions options;
    options.data_dir = data_dir;
    options.data = spec;
    options.classifier = classifier;
    options.samples = samples;
    options.likelihood_images = samples;
    options.floors = false;
    options.kid_subset_size = std::min<int64_t>(1000, samples);
    options.kid_subsets = 20;
    options.iwae_k = 10;
    options.fid_infinity_points = 0;   // reported as fid and kid only: skip what nobody reads
    options.memorisation_images = 0;
    return [options](models::Model& m) -> models::Metrics {
        nlohmann::json j = evaluate_model(m, options);
        models::Metrics out;
        for (const char* key : {"fid", "kid", "nll_bits_per_dim", "elbo", "iwae"})
            if (j.contains(key) && j[key].is_number()) out.emplace_back(key, j[key].get<double>());
        return out;
    };
}

}  // namespace mg::eval
