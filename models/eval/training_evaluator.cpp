#include "models/eval/training_evaluator.h"

#include <memory>

#include "core/data/fashion_mnist.h"
#include "core/data/transforms.h"
#include "models/classifier/classifier.h"
#include "models/eval/evaluate.h"

namespace mg::eval {

std::function<models::Metrics(models::Model&)> training_evaluator(models::Model& model,
                                                                  const std::optional<std::string>& data_dir,
                                                                  int64_t samples) {
    if (model.name() == "classifier") {
        // The test set is loaded once, when the run starts, not at every sample point.
        auto test = std::make_shared<data::Dataset>(data::load_fashion_mnist(data::Split::Test, data_dir));
        auto images = std::make_shared<Tensor>(data::to_float(test->images, data::PixelRange::ZeroOne));
        return [test, images](models::Model& m) -> models::Metrics {
            return {{"test_accuracy", models::classifier_accuracy(models::classifier_network(m), *images, test->labels)}};
        };
    }
    if (samples <= 0 || model.data_spec().source != models::DataSpec::Source::FashionMnist) return {};
    EvalOptions options;
    options.data_dir = data_dir;
    options.samples = samples;
    options.likelihood_images = samples;
    options.floors = false;
    options.kid_subset_size = std::min<int64_t>(1000, samples);
    options.kid_subsets = 20;
    options.iwae_k = 10;
    return [options](models::Model& m) -> models::Metrics {
        nlohmann::json j = evaluate_model(m, options);
        models::Metrics out;
        for (const char* key : {"fid", "kid", "nll_bits_per_dim", "elbo", "iwae"})
            if (j.contains(key) && j[key].is_number()) out.emplace_back(key, j[key].get<double>());
        return out;
    };
}

}  // namespace mg::eval
