// The protocol card of eval results, the comparison of two cards (eval --compare), and the
// invariance the card relies on: features and every metric bit for bit the same at any
// evaluation batch size and thread count.
#include <doctest/doctest.h>

#include <fstream>

#include "core/io/npy.h"
#include "core/ops.h"
#include "core/random.h"
#include "core/runtime.h"
#include "helpers.h"
#include "image_test_util.h"
#include "models/eval/evaluate.h"
#include "models/eval/protocol.h"
#include "models/eval/reference_classifier.h"

using namespace mg;
using mg::test::error_of;
using mg::test::has;
using mg::test::TempDir;

namespace {

// A grey 28x28 npy image set of 10 classes, 30 images each (its held-out split: 30 images):
// class c is a blob at a place of its own, with noise. Returns the DataSpec of it.
models::DataSpec write_blob_set(const TempDir& dir) {
    const int64_t n = 300, s = 28;
    manual_seed(11);
    std::vector<float> noise = rand({n * s * s}).to_vector<float>();
    std::vector<uint8_t> px(size_t(n * s * s));
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = i % 10, cy = 6 + (c / 5) * 14, cx = 3 + (c % 5) * 5;
        labels[size_t(i)] = c;
        for (int64_t y = 0; y < s; ++y)
            for (int64_t x = 0; x < s; ++x) {
                const double r2 = double((y - cy) * (y - cy) + (x - cx) * (x - cx));
                const size_t k = size_t((i * s + y) * s + x);
                px[k] = uint8_t(std::min(255.0, 220.0 * std::exp(-r2 / 30.0) + 35.0 * noise[k]));
            }
    }
    io::write_npy(dir / "blobs.npy", from_vector(px, Shape{n, s, s}));
    io::write_npy(dir / "labels.npy", from_vector(labels, Shape{n}));
    models::DataSpec spec;
    spec.source = models::DataSpec::Source::Images;
    spec.images = "npy:" + (dir / "blobs.npy") + ",labels=" + (dir / "labels.npy");
    spec.image_size = 28;
    spec.channels = 1;
    return spec;
}

eval::EvalOptions small_options(const models::DataSpec& data) {
    eval::EvalOptions o;
    o.progress = false;
    o.data = data;
    o.classifier = "fashion-mnist";
    o.kid_subsets = 4;
    o.kid_subset_size = 20;
    o.seed = 5;
    return o;
}

// The fields (dotted) in which two results differ, for a short failure message.
std::string differing_fields(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix = "") {
    std::string out;
    for (const auto& [k, v] : a.items()) {
        if (b.contains(k) && b[k] == v) continue;
        if (v.is_object() && b.contains(k)) out += differing_fields(v, b[k], prefix + k + ".");
        else out += prefix + k + " ";
    }
    return out;
}

// The built-in Fashion-MNIST classifier scores the tests' images; a build without it skips them.
bool have_classifier() {
    if (eval::has_builtin_reference_classifier()) return true;
    MESSAGE("no built-in reference classifier: skipped");
    return false;
}

// Restores the thread count when a check fails halfway.
struct ThreadsGuard {
    int saved = num_threads();
    ~ThreadsGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_CASE("eval protocol: features and every metric are bit-identical at batch sizes 1, 7, 64, 1000 and 1 or 2 threads") {
    if (!have_classifier()) return;
    TempDir dir("eval-protocol");
    eval::EvalOptions o = small_options(write_blob_set(dir));
    manual_seed(12);
    // Samples: noisy images, some blank rows among them (ties in the k-NN distances).
    Tensor samples = clamp(rand({150, 1, 28, 28}) * 0.8, 0.0, 1.0);
    samples.slice(0, 0, 5).fill_(0.0);
    eval::ReferenceClassifier& c = eval::ReferenceClassifier::get("fashion-mnist");
    ThreadsGuard guard;

    std::string first_json, first_features;
    for (int threads : {1, 2})
        for (int64_t batch : {1, 7, 64, 1000}) {
            CAPTURE(threads);
            CAPTURE(batch);
            set_num_threads(threads);
            o.eval_batch = batch;
            // The classifier's features, called batch by batch as evaluate.cpp does.
            std::vector<Tensor> parts;
            for (int64_t i = 0; i < samples.size(0); i += batch)
                parts.push_back(c.features(samples.slice(0, i, std::min(samples.size(0), i + batch))));
            const Tensor features = cat(parts, 0);
            const std::string feature_bytes(reinterpret_cast<const char*>(features.data<float>()),
                                            size_t(features.numel()) * sizeof(float));
            // Every metric (and the test set's features, cached per batch size and thread
            // count, so computed afresh here); dump() writes doubles exactly.
            nlohmann::json j = eval::score_images(samples, Tensor(), o);
            j.update(eval::floors_and_ceilings(o));
            const std::string text = j.dump();
            if (first_json.empty()) {
                first_json = text, first_features = feature_bytes;
                continue;
            }
            CHECK_MESSAGE(feature_bytes == first_features, "the features differ from those at batch 1, 1 thread");
            CHECK_MESSAGE(text == first_json, (std::string("differing: ") + differing_fields(j, nlohmann::json::parse(first_json))));
        }
    // The metrics were computed, not all zero or NaN.
    nlohmann::json j = nlohmann::json::parse(first_json);
    CHECK(j["fid"].get<double>() > 0);
    CHECK(j["recall"].get<double>() >= 0);
    CHECK(j["ceiling"]["fid"].get<double>() > j["floor"]["fid"].get<double>());
}

TEST_CASE("eval protocol: the card records the extractor, reference, samples, preprocessing, metrics and build") {
    if (!have_classifier()) return;
    TempDir dir("eval-card");
    eval::EvalOptions o = small_options(write_blob_set(dir));
    o.eval_batch = 64;
    manual_seed(13);
    nlohmann::json j = eval::score_images(rand({40, 1, 32, 32}), Tensor(), o);
    INFO(j.dump(1));
    REQUIRE(j.contains("protocol"));
    const nlohmann::json& p = j["protocol"];
    eval::ReferenceClassifier& c = eval::ReferenceClassifier::get("fashion-mnist");
    CHECK(p["feature_extractor"]["name"] == "fashion-mnist");
    CHECK(p["feature_extractor"]["sha256"] == c.sha256());
    CHECK(p["feature_extractor"]["test_accuracy"] == c.test_accuracy());
    CHECK(p["feature_extractor"]["input"] == nlohmann::json::array({1, 28, 28}));
    CHECK(p["reference"]["data"] == o.data.images);
    CHECK(p["reference"]["split"] == "held out (every 10th image of each class)");
    CHECK(p["reference"]["count"] == 30);
    CHECK(p["reference"]["image"] == nlohmann::json::array({1, 28, 28}));
    CHECK(p["generated"]["count"] == 40);
    CHECK(p["generated"]["seed"] == 5);
    CHECK(p["generated"]["image"] == nlohmann::json::array({1, 32, 32}));
    CHECK(p["preprocessing"]["values"] == "float from the model, clamped to [0, 1], not quantised");
    CHECK(p["preprocessing"]["resize_reference"] == "none");
    CHECK(p["preprocessing"]["resize_samples"] == "32x32 samples resized to 28x28 (area filter, through 8 bits)");
    CHECK(p["metrics"] == nlohmann::json({{"kid_subsets", 4}, {"kid_subset_size", 20}, {"pr_k", 3}, {"is_splits", 10},
                                            {"fid_infinity_points", 5}, {"memorisation_images", 10000}}));
    CHECK(p["minigen"]["version"] == build_info().version);
    const std::string commit = p["minigen"]["commit"];
    CHECK((commit == "unknown" || commit.size() >= 40));
    // The batch size is not part of it: results do not depend on it.
    CHECK(!has(p.dump(), "batch"));

    // A sample file says what its values were.
    std::string values;
    io::write_npy(dir / "u8.npy", from_vector(std::vector<uint8_t>(2 * 28 * 28, 7), Shape{2, 28, 28}));
    eval::load_sample_file(dir / "u8.npy", false, &values);
    CHECK(values == "uint8 from the file, / 255");
    io::write_npy(dir / "f.npy", full({2, 1, 28, 28}, 0.5));
    eval::load_sample_file(dir / "f.npy", true, &values);
    CHECK(values == "float32 from the file, mapped from [-1, 1], clamped to [0, 1], not quantised");
}

TEST_CASE("eval protocol: differences name each field with both values; a build difference only warns") {
    const nlohmann::json a = {{"generated", {{"count", 10000}, {"seed", 0}}},
                              {"metrics", {{"pr_k", 3}}},
                              {"minigen", {{"version", "0.1.0"}, {"commit", "abc"}}}};
    CHECK(eval::protocol_differences(a, a).empty());
    nlohmann::json b = a;
    b["generated"]["seed"] = 1;
    b["minigen"]["commit"] = "def";
    b["metrics"].erase("pr_k");
    b["preprocessing"] = {{"values", "uint8"}};
    const auto d = eval::protocol_differences(a, b);
    REQUIRE(d.size() == 4);
    CHECK(d[0].field == "generated.seed");
    CHECK(d[0].a == "0");
    CHECK(d[0].b == "1");
    CHECK(d[0].refuses);
    CHECK(d[1].field == "metrics.pr_k");
    CHECK(d[1].b == "(missing)");
    CHECK(d[2].field == "minigen.commit");
    CHECK(!d[2].refuses);
    CHECK(d[3].field == "preprocessing.values");
    CHECK(d[3].a == "(missing)");
    CHECK(d[3].b == "\"uint8\"");
}

TEST_CASE("eval protocol: result files without a card, corrupt or hostile are refused naming the file") {
    TempDir dir("eval-compare");
    auto write = [&](const std::string& name, const std::string& text) {
        test::write_bytes(dir / name, text);
        return dir / name;
    };
    CHECK(eval::read_eval_result(write("ok.json", R"({"fid": 1, "protocol": {"a": 1}})"))["fid"] == 1);
    const std::string old = write("old.json", R"({"fid": 1})");
    CHECK(has(error_of([&] { eval::read_eval_result(old); }), old + ": has no protocol card: rerun minigen eval"));
    const std::string corrupt = write("corrupt.json", R"({"fid": 1, "protocol": {)");
    CHECK(has(error_of([&] { eval::read_eval_result(corrupt); }), corrupt));
    const std::string array = write("array.json", "[1, 2]");
    CHECK(has(error_of([&] { eval::read_eval_result(array); }), "not an eval result"));
    const std::string deep = write("deep.json", std::string(100000, '[') + std::string(100000, ']'));
    CHECK(has(error_of([&] { eval::read_eval_result(deep); }), deep));
    const std::string scalar = write("scalar.json", R"({"protocol": 3})");
    CHECK(has(error_of([&] { eval::read_eval_result(scalar); }), "'protocol' is not a protocol card: 3"));
    CHECK(has(error_of([&] { eval::read_eval_result(dir / "missing.json"); }), "missing.json"));
    // Long nested names would flatten to a huge field list: the card's size is bounded first.
    const std::string key(70000, 'k');
    const std::string huge = write("huge.json", R"({"protocol": {")" + key + R"(": {"a": 1, "b": 2}}})");
    CHECK(has(error_of([&] { eval::read_eval_result(huge); }), "the protocol card is 70"));
}
