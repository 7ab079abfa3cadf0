#include "models/eval/translation.h"

#include <chrono>
#include <cstdio>

#include "core/ops.h"
#include "models/eval/feature_metrics.h"
#include "models/eval/protocol.h"
#include "models/eval/reference_classifier.h"
#include "models/image_data.h"
#include "models/metrics.h"
#include "models/paired_data.h"

namespace mg::eval {

std::string translation_classifier_data(const std::string& paired_spec) {
    const std::string source = models::paired_source(paired_spec);
    return source.rfind("emoji", 0) == 0 ? "emoji" : source;
}

namespace {

double mean_of(const Tensor& per_image) { return mean(per_image).item(); }

// The share of `images` [N, C, H, W] in [0, 1] the classifier puts in class labels[i].
double accuracy(ReferenceClassifier& c, const Tensor& images, const Tensor& labels) {
    Tensor hit = eq(argmax(c.probs(images), 1), labels);
    return sum(hit.to(DType::Float64)).item() / double(images.size(0));
}

// The most training targets the distribution scores compare with (Fashion-MNIST has 60,000).
constexpr int64_t kMaxTrainingTargets = 10000;

// FID and KID of the outputs against the training pairs' targets (at most kMaxTrainingTargets,
// the first in data order), beside the floor: the held-out targets against the same set.
void distribution_scores(nlohmann::json& j, ReferenceClassifier& c, const models::DataSpec& spec,
                         int64_t input_channels, const Tensor& out01, const Tensor& target01, const EvalOptions& o) {
    const models::ImageData train = models::load_paired_image_data(spec, models::ImageSplit::Train);
    const int64_t m = std::min(train.images.size(0), kMaxTrainingTargets);
    if (m < 2) return;
    std::vector<Tensor> chunks;
    for (int64_t i = 0; i < m; i += o.eval_batch) {  // as floats in chunks: 3,400 emoji pairs at 64 px are 330 MB
        const Tensor stacked = data::to_float(train.images.slice(0, i, std::min(m, i + o.eval_batch)), spec.range);
        const models::PairedBatch pair = models::split_pair(stacked, input_channels);
        Tensor image = models::paired_as_image(spec.images, pair.input, pair.target);
        if (spec.range == data::PixelRange::MinusOneOne) image = mul(add(image, 1.0), 0.5);
        chunks.push_back(c.features(clamp(image, 0.0, 1.0).contiguous()));
    }
    const Tensor real = cat(chunks, 0);
    const Tensor outputs = c.features(out01), targets = c.features(target01);
    const FeatureStats real_stats = feature_stats(real);
    j["fid"] = frechet_distance(real_stats, feature_stats(outputs));
    j["fid_floor"] = frechet_distance(real_stats, feature_stats(targets));
    const Kid kid = kernel_inception_distance(real, outputs, o.kid_subsets, o.kid_subset_size, o.seed);
    const Kid floor = kernel_inception_distance(real, targets, o.kid_subsets, o.kid_subset_size, o.seed);
    j["kid"] = kid.mean;
    j["kid_std"] = kid.std;
    j["kid_floor"] = floor.mean;
    j["kid_subset_size"] = kid.subset_size;
    j["training_targets"] = m;
}

}  // namespace

nlohmann::json evaluate_translation(models::Model& model, models::Translation& translation, const EvalOptions& o) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const models::DataSpec spec = model.data_spec();
    MG_CHECK(spec.source == models::DataSpec::Source::Images && models::is_paired_data_spec(spec.images),
             "eval: '{}' translates images, but its data {} is not paired", model.name(), spec.images);
    models::ImageData held_out = models::load_paired_image_data(spec, models::ImageSplit::Test);
    const int64_t n = std::min<int64_t>(held_out.images.size(0), std::max<int64_t>(o.samples, 1));
    const data::PixelRange range = spec.range;
    const models::PairedBatch pair =
        models::split_pair(data::to_float(held_out.images.slice(0, 0, n), range), translation.input_channels());
    if (o.progress) std::fprintf(stderr, "eval: translating %lld held-out pairs\n", (long long)n);
    // Scored as images: lab data's a*b* with the input's L*, in RGB.
    Tensor outputs = models::paired_as_image(spec.images, pair.input, translation.translate(pair.input.contiguous()));
    const Tensor targets = models::paired_as_image(spec.images, pair.input, pair.target);
    auto unit = [&](const Tensor& x) {  // the model's range -> [0, 1]
        Tensor y = range == data::PixelRange::MinusOneOne ? mul(add(x, 1.0), 0.5) : x;
        return clamp(y, 0.0, 1.0).contiguous();
    };
    const Tensor out01 = unit(outputs), target01 = unit(targets);
    nlohmann::json j = {{"model", model.name()}, {"data", spec.images}, {"test_images", n}};
    j["l1"] = mean(abs(sub(out01, target01))).item();
    j["psnr"] = mean_of(models::psnr(out01, target01));
    if (out01.size(2) >= 11) j["ssim"] = mean_of(models::ssim(out01, target01));
    if (out01.size(1) == 3) {
        j["colorfulness"] = mean_of(models::colorfulness(out01));
        j["target_colorfulness"] = mean_of(models::colorfulness(target01));
    }

    const std::string data = translation_classifier_data(spec.images);
    bool has_classifier = o.classifier.has_value();
    for (const std::string& name : builtin_reference_classifiers())
        has_classifier = has_classifier || ReferenceClassifier::get(name).info().data == data;
    if (has_classifier) {
        ReferenceClassifier& c = ReferenceClassifier::select(o.classifier, data);
        MG_CHECK(c.info().shape.channels == out01.size(1),
                 "eval: the classifier {} takes {} channel(s); the translations have {}", c.name(),
                 c.info().shape.channels, out01.size(1));
        const Tensor labels = held_out.labels.slice(0, 0, n).contiguous();
        j["class_accuracy"] = accuracy(c, out01, labels);
        j["target_class_accuracy"] = accuracy(c, target01, labels);
        j["classifier_name"] = c.name();
        j["classifier"] = c.sha256();
        j["classifier_source"] = c.source();
        j["classifier_data"] = c.info().data;
        if (o.floors && n >= 2) distribution_scores(j, c, spec, translation.input_channels(), out01, target01, o);
    }
    j["protocol"] = {{"reference", {{"data", spec.images}, {"count", n}, {"split", "held-out pairs"}}},
                     {"minigen", minigen_build_card()}};
    j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    return j;
}

}  // namespace mg::eval
