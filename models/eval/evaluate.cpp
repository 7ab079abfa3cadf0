#include "models/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <cstdio>
#include <map>
#include <mutex>

#include "core/data/fashion_mnist.h"
#include "core/data/idx.h"
#include "core/data/transforms.h"
#include "core/dist/row_blocks.h"
#include "core/io/npy.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/runtime.h"
#include "models/capabilities.h"
#include "core/io/image.h"
#include "models/eval/cas.h"
#include "models/eval/feature_metrics.h"
#include "models/eval/memorisation.h"
#include "models/eval/protocol.h"
#include "models/eval/real_images.h"
#include "models/eval/reference_classifier.h"
#include "models/progress.h"

namespace mg::eval {

namespace {

using Clock = std::chrono::steady_clock;

void say(const EvalOptions& o, const std::string& text) {
    if (o.progress) std::fprintf(stderr, "eval: %s\n", text.c_str());
}

// One phase's progress (done of total, rate, ETA) on stderr through models::ProgressLine,
// shown only once the phase has run for o.progress_after_s: quick phases print their one
// summary line (say) and nothing else.
class PhaseProgress {
public:
    PhaseProgress(const EvalOptions& o, const std::string& what, int64_t total, const std::string& unit)
        : on_(o.progress), after_s_(o.progress_after_s), line_("eval: " + what, total, 1, unit) {
        line_.update(0, "");  // the rate counts from here
    }
    void update(int64_t done) {
        if (!on_ || line_.elapsed_s() < after_s_) return;
        shown_ = true;
        line_.update(done, "");
    }
    // Ends a shown line with the phase's final count.
    void finish(int64_t done) {
        if (shown_) line_.finish(done, "");
        shown_ = false;
    }
    ~PhaseProgress() {
        if (shown_) std::fprintf(stderr, "\n");  // an error ended the phase: close its line
    }

private:
    bool on_, shown_ = false;
    double after_s_;
    models::ProgressLine line_;
};

ReferenceClassifier& classifier(const EvalOptions& o) {
    return ReferenceClassifier::select(o.classifier, data_name(o.data));
}

// The classifier's features (and class probabilities, when probs is given) of images
// [N,C,H,W] in [0,1], a phase of its own, in batches of o.eval_batch (the result is bit for
// bit the same at any batch size). Under mpirun each rank classifies its block of the images
// and every rank receives all of them, in order: the same bits as one process's.
void classify(const EvalOptions& o, const std::string& what, const Tensor& images, Tensor* features,
              Tensor* probs) {
    ReferenceClassifier& c = classifier(o);
    MG_CHECK(images.dim() == 4 && images.size(1) == c.info().shape.channels,
             "eval: the {} are images {}, but the classifier {} takes {} channel(s) (trained on {})", what,
             images.shape(), c.name(), c.info().shape.channels, c.info().data);
    MG_CHECK(o.eval_batch >= 1, "eval: the evaluation batch size must be >= 1, got {}", o.eval_batch);
    const int64_t n = images.size(0), chunk = o.eval_batch;
    dist::Collective& world = dist::world();
    const dist::RowBlock mine = dist::row_block(n, world);
    PhaseProgress progress(o, what, mine.end - mine.begin, "img");
    std::vector<Tensor> f, p;
    for (int64_t i = mine.begin; i < mine.end; i += chunk) {
        Tensor fi, pi;
        c.features_and_probs(images.slice(0, i, std::min(mine.end, i + chunk)), &fi, probs ? &pi : nullptr);
        f.push_back(fi);
        if (probs) p.push_back(pi);
        progress.update(std::min(mine.end, i + chunk) - mine.begin);
    }
    progress.finish(mine.end - mine.begin);
    *features = f.empty() ? zeros({0, models::ClassifierNet::kFeatures}) : cat(f, 0);
    if (probs) *probs = p.empty() ? zeros({0, c.info().shape.classes}) : cat(p, 0);
    *features = dist::all_gather_rows(features->contiguous(), n, world);
    if (probs) *probs = dist::all_gather_rows(probs->contiguous(), n, world);
}

// The test images' classifier features and what the metrics need to know of them.
struct TestSet {
    Tensor features;
    Tensor labels;      // int64 [N]
    Shape image_shape;  // [N, C, H, W]
    std::vector<std::string> classes;
};

bool is_images(const EvalOptions& o) { return o.data.source == models::DataSpec::Source::Images; }

// Names the (data, classifier) pair whose features a cache holds.
std::string data_key(const EvalOptions& o) {
    return is_images(o) ? fmt::format("{}|{}|{}|{}|{}", o.data.images, o.data.image_size, o.data.channels,
                                      o.data.skip_bad, o.classifier.value_or(""))
                        : fmt::format("fashion-mnist|{}|{}", o.data_dir.value_or(""), o.classifier.value_or(""));
}

// Computed once per (data, classifier, batch size, threads): features computed under other
// settings are computed afresh, so that their invariance is tested, not assumed.
const TestSet& test_set(const EvalOptions& o) {
    static std::mutex mutex;
    static std::map<std::string, TestSet> cache;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = fmt::format("{}|{}|{}|{}", data_key(o), o.eval_batch, num_threads(), dist::world().size());
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    RealImages test = load_real_images(o.data, RealSplit::HeldOut, o.data_dir);
    TestSet t;
    t.labels = test.labels;
    t.image_shape = test.images.shape();
    t.classes = test.classes;
    classify(o, "test-set features", data::to_float(test.images, data::PixelRange::ZeroOne), &t.features, nullptr);
    return cache.emplace(key, std::move(t)).first->second;
}

// The metrics of features/probs of a set against the test features; `what` names the set.
// Rank 0 alone computes them (the other ranks only help classify): elsewhere, nothing.
nlohmann::json compare(const Tensor& features, const Tensor& probs, const Tensor& real, const EvalOptions& o,
                       const std::string& what) {
    nlohmann::json j;
    if (!dist::is_root()) return j;
    PhaseProgress progress(o, "metrics of " + what, probs.defined() ? 4 : 3, "metrics");
    const FeatureStats real_stats = feature_stats(real);
    j["fid"] = frechet_distance(real_stats, feature_stats(features));
    if (o.fid_infinity_points >= 2 && features.size(0) >= 2 * o.fid_infinity_points) {
        FidInfinity fi = fid_infinity(real_stats, features, o.fid_infinity_points, o.seed);
        j["fid_infinity"] = fi.fid_infinity;
        for (size_t i = 0; i < fi.sizes.size(); ++i) j["fid_infinity_points"].push_back({fi.sizes[i], fi.fids[i]});
    }
    progress.update(1);
    Kid kid = kernel_inception_distance(real, features, o.kid_subsets, o.kid_subset_size, o.seed);
    j["kid"] = kid.mean;
    j["kid_std"] = kid.std;
    progress.update(2);
    PrecisionRecall pr = precision_recall(real, features, o.pr_k);
    j["precision"] = pr.precision;
    j["recall"] = pr.recall;
    j["density"] = pr.density;
    j["coverage"] = pr.coverage;
    progress.update(3);
    if (probs.defined()) {
        InceptionScore is = inception_score(probs, std::min<int64_t>(10, probs.size(0)));
        j["is"] = is.mean;
        j["is_std"] = is.std;
        ClassHistogram h = class_histogram(probs);
        j["class_kl"] = h.kl_to_uniform;
        j["class_histogram"] = h.fractions;
        progress.update(4);
    }
    progress.finish(probs.defined() ? 4 : 3);
    return j;
}

// "28x28 images resized to 32x32 (area filter, through 8 bits)" when the classifier resizes
// `noun` of h x w, else "none".
std::string resize_text(const ReferenceClassifier& c, int64_t h, int64_t w, const char* noun) {
    if (!c.resizes(h, w)) return "none";
    return fmt::format("{}x{} {} resized to {}x{} (area filter, through 8 bits)", h, w, noun, c.info().shape.height,
                       c.info().shape.width);
}

// Which classifier scored what: numbers of different classifiers, data or sizes differ.
void add_classifier_info(nlohmann::json& j, const EvalOptions& o) {
    ReferenceClassifier& c = classifier(o);
    const ReferenceInfo& info = c.info();
    j["classifier"] = c.sha256();
    j["classifier_source"] = c.source();
    j["classifier_name"] = c.name();
    j["classifier_data"] = info.data;
    j["classifier_test_accuracy"] = info.test_accuracy;
    j["classifier_input"] = {info.shape.channels, info.shape.height, info.shape.width};
    j["data"] = data_name(o.data);
    const Shape& s = test_set(o).image_shape;
    j["test_images"] = s[0];
    if (c.resizes(s[2], s[3])) j["classifier_resize"] = resize_text(c, s[2], s[3], "images");
}

// The protocol card (protocol.h) of results j computed under o: the sample sections when j
// holds sample metrics, the likelihood one when it holds likelihoods.
nlohmann::json protocol_card(const EvalOptions& o, const nlohmann::json& j) {
    nlohmann::json card;
    if (o.data.source == models::DataSpec::Source::Toy2d) {
        card["reference"] = {{"data", "toy2d:" + o.data.toy2d}};
    } else {
        card["reference"] = {{"data", data_name(o.data)},
                             {"split", is_images(o) ? "held out (every 10th image of each class)" : "test"},
                             {"values", "uint8 / 255"}};
    }
    if (j.contains("samples")) {
        const ReferenceClassifier& c = classifier(o);
        const ReferenceInfo& info = c.info();
        const Shape& s = test_set(o).image_shape;
        const auto sample = j.at("sample_image").get<std::vector<int64_t>>();
        const int64_t samples = j.at("samples").get<int64_t>();
        card["reference"]["count"] = s[0];
        card["reference"]["image"] = {s[1], s[2], s[3]};
        card["feature_extractor"] = {{"name", c.name()},
                                     {"sha256", c.sha256()},
                                     {"data", info.data},
                                     {"input", {info.shape.channels, info.shape.height, info.shape.width}},
                                     {"test_accuracy", info.test_accuracy}};
        card["generated"] = {{"count", samples}, {"seed", o.seed}, {"image", sample}};
        card["preprocessing"] = {{"values", o.sample_values},
                                 {"resize_reference", resize_text(c, s[2], s[3], "images")},
                                 {"resize_samples", resize_text(c, sample[1], sample[2], "samples")}};
        card["metrics"] = {{"kid_subsets", o.kid_subsets},
                           {"kid_subset_size", o.kid_subset_size},
                           {"pr_k", o.pr_k},
                           {"is_splits", std::min<int64_t>(10, samples)},
                           {"fid_infinity_points", o.fid_infinity_points},
                           {"memorisation_images", o.memorisation_images}};
        if (o.cas) card["metrics"]["cas_steps"] = o.cas_steps;
    }
    if (j.contains("likelihood_images"))
        card["likelihood"] = {{"images", j["likelihood_images"]}, {"iwae_k", o.iwae_k}};
    card["minigen"] = minigen_build_card();
    return card;
}

// n distinct rows of [0, total), chosen by a seeded shuffle.
std::vector<int64_t> random_rows(int64_t total, int64_t n, uint64_t seed) {
    MG_CHECK(n <= total, "eval: {} rows requested of {}", n, total);
    std::vector<int64_t> order(static_cast<size_t>(total));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(seed + 12345));
    order.resize(size_t(n));
    return order;
}

// The training images the floor, the memorisation check and CAS's real baseline use: a
// seeded random subset, the floor's rows (as many as test images) first. Those are
// classified on their own, as the floor always was; the rest only for the memorisation check.
struct TrainingSet {
    Tensor images, labels;  // uint8 [M, C, H, W], int64 [M]
    Tensor features;        // [M, 128]
    Tensor floor_probs;     // [floor_rows, K]
    int64_t floor_rows = 0;
};

// Computed once per (data, classifier, seed, memorisation_images).
const TrainingSet& training_set(const EvalOptions& o) {
    static std::mutex mutex;
    static std::map<std::string, TrainingSet> cache;
    const int64_t n_test = test_set(o).features.size(0);
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = fmt::format("{}|{}|{}", data_key(o), o.seed, o.memorisation_images);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    RealImages train = load_real_images(o.data, RealSplit::Training, o.data_dir);
    TrainingSet t;
    const int64_t total = train.images.size(0);
    t.floor_rows = std::min(n_test, total);
    const std::vector<int64_t> rows =
        random_rows(total, std::min(total, std::max(t.floor_rows, o.memorisation_images)), o.seed);
    t.images = gather_rows(train.images.contiguous(), rows);
    t.labels = gather_rows(train.labels.contiguous(), rows);
    auto unit = [&](int64_t begin, int64_t end) {
        return data::to_float(t.images.slice(0, begin, end), data::PixelRange::ZeroOne);
    };
    classify(o, "training-set features", unit(0, t.floor_rows), &t.features, &t.floor_probs);
    if (int64_t(rows.size()) > t.floor_rows) {
        Tensor more;
        classify(o, "more training-set features", unit(t.floor_rows, int64_t(rows.size())), &more, nullptr);
        t.features = cat({t.features, more}, 0);
    }
    return cache.emplace(key, std::move(t)).first->second;
}

// The memorisation check of sample features against the training set, and its grid.
nlohmann::json memorisation(const Tensor& images, const Tensor& features, const EvalOptions& o) {
    const TrainingSet& train = training_set(o);  // on every rank: they classify it together
    if (!dist::is_root()) return {};
    const int64_t m = std::min(o.memorisation_images, train.features.size(0));
    const Memorisation check =
        memorisation_check(features, test_set(o).features, train.features.slice(0, 0, m).contiguous());
    if (o.memorisation_grid) {
        io::GridOptions grid;
        grid.lo = 0.0;
        grid.scale = std::max<int64_t>(1, 64 / images.size(2));
        io::write_png_grid(*o.memorisation_grid, nearest_pairs(check, images, train.images.slice(0, 0, m)), grid);
    }
    return memorisation_json(check, m);
}

// Samples in the model's range -> [0,1].
Tensor to_unit_range(const Tensor& x, data::PixelRange range) {
    Tensor y = range == data::PixelRange::MinusOneOne ? (x + 1.0) * 0.5 : x;
    return clamp(y.to(Device::CPU).to(DType::Float32), 0.0, 1.0);
}

// CAS: the data's classifier architecture trained on the labelled samples, and for the same
// budget on as many real training images, each tested on the held-out real images.
nlohmann::json classification_accuracy_score(const Tensor& samples, const Tensor& labels, const EvalOptions& o) {
    auto t0 = Clock::now();
    const TrainingSet& train = training_set(o);  // on every rank: they classify it together
    if (!dist::is_root()) return {};
    RealImages test = load_real_images(o.data, RealSplit::HeldOut, o.data_dir);
    const Tensor test_images = data::to_float(test.images, data::PixelRange::ZeroOne);
    const Shape& s = test_images.shape();
    const models::ClassifierShape shape{s[1], s[2], s[3], int64_t(test.classes.size())};
    CasBudget budget;
    budget.steps = o.cas_steps;
    budget.seed = o.seed;
    const double cas = train_and_test_classifier(shape, samples, labels, test_images, test.labels, budget);
    const int64_t n_real = std::min(samples.size(0), train.images.size(0));
    const double real = train_and_test_classifier(
        shape, data::to_float(train.images.slice(0, 0, n_real), data::PixelRange::ZeroOne),
        train.labels.slice(0, 0, n_real), test_images, test.labels, budget);
    say(o, fmt::format("CAS: two classifiers of {} steps in {:.1f} s", budget.steps,
                       std::chrono::duration<double>(Clock::now() - t0).count()));
    return {{"cas", cas}, {"cas_real", real}, {"cas_steps", budget.steps}, {"cas_batch_size", budget.batch_size},
            {"cas_real_images", n_real}};
}

}  // namespace

nlohmann::json score_images(const Tensor& images, const Tensor& intended_labels, const EvalOptions& o) {
    const TestSet& test = test_set(o);
    const Shape& want = test.image_shape;
    MG_CHECK(images.dim() == 4 && images.size(1) == want[1],
             "eval: samples must be images [N, {}, H, W] like the test images of {} ({}), got {}", want[1],
             data_name(o.data), want, images.shape());
    MG_CHECK(images.size(0) > o.pr_k, "eval: {} samples are too few (need more than {})", images.size(0), o.pr_k);
    auto t0 = Clock::now();
    const Tensor& real = test.features;
    Tensor features, probs;
    classify(o, "sample features", images, &features, &probs);
    nlohmann::json j = compare(features, probs, real, o, "the samples");
    j["samples"] = images.size(0);
    j["sample_image"] = {images.size(1), images.size(2), images.size(3)};
    // The intended labels index the data's classes: comparable when the classifier has them.
    if (dist::is_root() && intended_labels.defined() && classifier(o).info().class_names == test.classes) {
        Tensor hit = eq(argmax(probs, 1), intended_labels.to(Device::CPU));
        j["class_accuracy"] = sum(hit.to(DType::Float64)).item() / double(images.size(0));
        const int64_t classes = int64_t(test.classes.size());
        std::vector<int64_t> real_counts(size_t(classes), 0);
        for (int64_t y : test.labels.to_vector<int64_t>()) ++real_counts[size_t(y)];
        // Every class asked for at least twice and held out at least twice.
        if (images.size(0) >= 2 * classes && *std::min_element(real_counts.begin(), real_counts.end()) >= 2) {
            IntraClassFid intra = intra_class_fid(real, test.labels, features, intended_labels, classes);
            j["intra_fid"] = intra.mean;
            for (int64_t c = 0; c < classes; ++c) j["intra_fid_per_class"][test.classes[size_t(c)]] = intra.per_class[size_t(c)];
        }
    }
    if (o.memorisation_images > 0) j["memorisation"] = memorisation(images, features, o);
    add_classifier_info(j, o);
    const ReferenceClassifier& c = classifier(o);
    if ((images.size(2) != want[2] || images.size(3) != want[3]) && c.resizes(images.size(2), images.size(3)))
        j["classifier_resize_samples"] = resize_text(c, images.size(2), images.size(3), "samples");
    j["protocol"] = protocol_card(o, j);
    say(o, fmt::format("scored {} samples in {:.1f} s", images.size(0),
                       std::chrono::duration<double>(Clock::now() - t0).count()));
    return j;
}

nlohmann::json floors_and_ceilings(const EvalOptions& o) {
    auto t0 = Clock::now();
    const TestSet& test = test_set(o);
    const Tensor& real = test.features;
    const int64_t n = real.size(0);
    // Floor: n training images (a seeded random subset) scored like samples.
    const TrainingSet& train = training_set(o);
    const int64_t n_train = train.floor_rows;
    nlohmann::json floor =
        compare(train.features.slice(0, 0, n_train).contiguous(), train.floor_probs, real, o, "the floor");
    floor["what"] = fmt::format("{} training images vs the {} test images", n_train, n);
    // Ceiling: uniform noise images.
    manual_seed(o.seed + 1);
    const Shape& s = test.image_shape;
    Tensor noise = rand({n, s[1], s[2], s[3]});
    Tensor f, p;
    classify(o, "ceiling features", noise, &f, &p);
    nlohmann::json ceiling = compare(f, p, real, o, "the ceiling");
    ceiling["what"] = fmt::format("{} images of uniform noise vs the {} test images", n, n);
    say(o, fmt::format("floor and ceiling in {:.1f} s", std::chrono::duration<double>(Clock::now() - t0).count()));
    return {{"floor", floor}, {"ceiling", ceiling}};
}

nlohmann::json evaluate_model(models::Model& model, const EvalOptions& options) {
    auto t0 = Clock::now();
    const models::DataSpec spec = model.data_spec();
    EvalOptions o = options;
    o.data = spec;
    // Which classifier scores the samples is settled first: none for this data is an error
    // before any work.
    if (o.samples > 0 && spec.source != models::DataSpec::Source::Toy2d && models::as<models::Sampler>(model))
        classifier(o);
    nlohmann::json j = {{"model", model.name()}};
    if (spec.source == models::DataSpec::Source::Toy2d) {
        if (auto* measures = models::as<models::SampleQuality>(model))
            for (const auto& [k, v] : measures->evaluate()) j[k] = v;
        j["protocol"] = protocol_card(o, j);
        j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
        return j;
    }

    // Likelihood on the test images.
    models::Likelihood::Options lo;
    lo.iwae_k = o.iwae_k;
    auto* likelihood = models::as<models::Likelihood>(model);
    if (likelihood && dist::is_root()) {  // not sharded: rank 0 alone
        RealImages test = load_real_images(spec, RealSplit::HeldOut, o.data_dir);
        const int64_t n_all = test.images.size(0);
        const int64_t n_test = o.likelihood_images > 0 ? std::min(o.likelihood_images, n_all) : n_all;
        Tensor images = data::to_float(test.images.slice(0, 0, n_test), spec.range);
        auto t = Clock::now();
        PhaseProgress progress(o, "test likelihood", n_test, "img");
        lo.progress = [&](int64_t done, int64_t) { progress.update(done); };
        models::Metrics nll = likelihood->likelihood(images, test.labels.slice(0, 0, n_test).contiguous(), lo);
        progress.finish(n_test);
        if (!nll.empty()) {
            for (const auto& [k, v] : nll) j[k] = v;
            j["likelihood_images"] = n_test;
            say(o, fmt::format("test likelihood of {} images in {:.1f} s", n_test,
                               std::chrono::duration<double>(Clock::now() - t).count()));
        }
    }

    // Sample metrics.
    auto* sampler = models::as<models::Sampler>(model);
    auto* conditional = models::as<models::ClassConditional>(model);
    if (o.samples > 0 && sampler) {
        auto t = Clock::now();
        manual_seed(o.seed);
        std::vector<Tensor> parts;
        std::vector<int64_t> labels;
        const int64_t chunk = 500;
        PhaseProgress progress(o, "generating samples", o.samples, "img");
        for (int64_t i = 0; i < o.samples; i += chunk) {
            const int64_t m = std::min(chunk, o.samples - i);
            if (conditional) {
                std::vector<int64_t> y;
                const int64_t classes = conditional->class_count();
                for (int64_t k = 0; k < m; ++k) y.push_back((i + k) % classes);  // every class equally often
                labels.insert(labels.end(), y.begin(), y.end());
                parts.push_back(to_unit_range(conditional->sample_with_labels(from_vector(y)), spec.range));
            } else {
                parts.push_back(to_unit_range(sampler->sample(m), spec.range));
            }
            progress.update(i + m);
        }
        progress.finish(o.samples);
        say(o, fmt::format("{} samples in {:.1f} s", o.samples, std::chrono::duration<double>(Clock::now() - t).count()));
        const Tensor samples = cat(parts, 0);
        j.update(score_images(samples, labels.empty() ? Tensor() : from_vector(labels), o));
        if (o.cas && conditional) j.update(classification_accuracy_score(samples, from_vector(labels), o));
    }
    if (o.floors && o.samples > 0) j.update(floors_and_ceilings(o));
    if (!j.contains("classifier") && o.samples > 0) add_classifier_info(j, o);
    j["protocol"] = protocol_card(o, j);
    j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    return j;
}

Tensor load_sample_file(const std::string& path, bool minus_one_one, std::string* values) {
    // Sides up to 1024, and at most 2^30 values in all: a header's promise beyond that is
    // refused before the data is read.
    constexpr int64_t kMaxSide = 1024, kMaxValues = int64_t(1) << 30;
    const std::string expected = "expected images [N, H, W], [N, C, H, W] (C 1 or 3) or uint8 [N, H, W, C]";
    Tensor t;
    const bool npy = path.size() >= 4 && path.substr(path.size() - 4) == ".npy";
    if (npy) {
        t = io::read_npy(path);
    } else {
        // IDX images [N, H, W] (gzip or not); the size is checked on the header, before the data is read.
        t = data::read_idx_uint8(path, 3, [&](const std::vector<int64_t>& dims) {
            MG_CHECK(dims[1] <= kMaxSide && dims[2] <= kMaxSide && dims[0] * dims[1] * dims[2] <= kMaxValues,
                     "--samples {}: expected images [N, H, W] with sides up to {} and at most {} pixels in all, "
                     "got {}", path, kMaxSide, kMaxValues, Shape(dims));
        });
    }
    if (t.dim() == 3) t = t.reshape({t.size(0), 1, t.size(1), t.size(2)});
    MG_CHECK(t.dim() == 4, "--samples {}: {}, got {}", path, expected, t.shape());
    const bool channels_first = t.size(1) == 1 || t.size(1) == 3;
    if (!channels_first && t.dtype() == DType::UInt8 && (t.size(3) == 1 || t.size(3) == 3))
        t = t.permute({0, 3, 1, 2}).contiguous();  // NHWC
    MG_CHECK(t.size(1) == 1 || t.size(1) == 3, "--samples {}: {}, got {}", path, expected, t.shape());
    MG_CHECK(t.size(2) >= 1 && t.size(2) <= kMaxSide && t.size(3) >= 1 && t.size(3) <= kMaxSide,
             "--samples {}: image sides must lie in 1..{}, got {}", path, kMaxSide, t.shape());
    MG_CHECK(t.size(0) > 0, "--samples {}: the file holds no images", path);
    if (values) *values = t.dtype() == DType::UInt8 ? "uint8 from the file, / 255"
                                                    : fmt::format("{} from the file{}, clamped to [0, 1], not quantised",
                                                                  dtype_name(t.dtype()),
                                                                  minus_one_one ? ", mapped from [-1, 1]" : "");
    if (t.dtype() == DType::UInt8) return t.to(DType::Float32) * (1.0 / 255.0);
    MG_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Float64,
             "--samples {}: images must be uint8 or float, got int64", path);
    Tensor f = t.to(DType::Float64);
    double lo = amin(f).item(), hi = amax(f).item();
    MG_CHECK(std::isfinite(lo) && std::isfinite(hi), "--samples {}: the images hold NaN or infinite values", path);
    const double want_lo = minus_one_one ? -1.0 : 0.0;
    MG_CHECK(lo >= want_lo - 1e-3 && hi <= 1.0 + 1e-3,
             "--samples {}: float images must lie in [{}, 1], found values in [{}, {}]{}", path, want_lo, lo, hi,
             !minus_one_one && lo < 0 ? " (pass --range=-1,1 for images in [-1, 1])" : "");
    if (minus_one_one) f = (f + 1.0) * 0.5;
    return clamp(f, 0.0, 1.0).to(DType::Float32);
}

}  // namespace mg::eval
