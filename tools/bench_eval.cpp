// The evaluation row group of `minigen bench --eval`: a full evaluation of 10,000 samples
// against Fashion-MNIST's 10,000 test images, as `minigen eval --samples` scores a file,
// timed as a whole (score_images, the test set's features included) and phase by phase.
// The samples are 10,000 training images with a seeded noise: no model runs, so the rows
// measure the evaluator alone.
#include <fmt/format.h>

#include "core/data/fashion_mnist.h"
#include "core/data/transforms.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/eval/evaluate.h"
#include "models/eval/feature_metrics.h"
#include "models/eval/reference_classifier.h"
#include "tools/bench.h"

namespace mg::tools::bench {

namespace {

constexpr int64_t kSamples = 10000;

}  // namespace

void run_eval_group(const RunOptions& opt) {
    auto row = [&](const std::string& phase, const std::string& shape, double seconds) {
        Result r;
        r.kind = "eval";
        r.name = phase;
        r.shape = shape;
        r.threads = opt.threads;
        r.timed = true;
        r.timing.median_ms = r.timing.min_ms = r.timing.max_ms = seconds * 1e3;
        r.timing.samples = 1;
        opt.emit(r);
    };
    auto timed = [](const std::function<void()>& fn) {
        const double t0 = now_seconds();
        fn();
        return now_seconds() - t0;
    };
    if (!opt.selected("eval")) return;
    if (!eval::has_builtin_reference_classifier()) {
        opt.progress("eval: no built-in Fashion-MNIST classifier in this build: skipped");
        return;
    }
    opt.progress("eval: loading 10,000 Fashion-MNIST training images as the samples");
    data::Dataset train = data::load_fashion_mnist(data::Split::Train);
    manual_seed(1);
    const Tensor images = clamp(
        data::to_float(train.images.slice(0, 0, kSamples), data::PixelRange::ZeroOne) + randn({kSamples, 1, 28, 28}) * 0.05,
        0.0, 1.0);

    eval::EvalOptions o;
    o.progress = false;
    o.floors = false;
    o.samples = kSamples;
    const std::string shape = fmt::format("{} vs 10000", kSamples);
    opt.progress("eval: the whole evaluation (score_images)");
    nlohmann::json result;
    row("full evaluation", shape, timed([&] { result = eval::score_images(images, Tensor(), o); }));

    // Phase by phase, as evaluate.cpp runs them.
    eval::ReferenceClassifier& c = eval::ReferenceClassifier::get();
    data::Dataset test = data::load_fashion_mnist(data::Split::Test);
    const Tensor test_images = data::to_float(test.images, data::PixelRange::ZeroOne);
    Tensor real, features, probs;
    opt.progress("eval: phases");
    row("test features", "10000 images", timed([&] { real = c.features(test_images); }));
    row("sample features", fmt::format("{} images", kSamples),
        timed([&] { c.features_and_probs(images, &features, &probs); }));
    row("fid", shape, timed([&] { eval::frechet_distance(eval::feature_stats(real), eval::feature_stats(features)); }));
    row("kid", fmt::format("{} subsets of {}", o.kid_subsets, o.kid_subset_size),
        timed([&] { eval::kernel_inception_distance(real, features, o.kid_subsets, o.kid_subset_size, o.seed); }));
    row("precision/recall", fmt::format("{}, k {}", shape, o.pr_k),
        timed([&] { eval::precision_recall(real, features, o.pr_k); }));
    row("is", "10 splits", timed([&] { eval::inception_score(probs, 10); }));
    row("class histogram", fmt::format("{} rows", kSamples), timed([&] { eval::class_histogram(probs); }));
}

}  // namespace mg::tools::bench
