// Evaluation on any image data set: the classifier at any size, reference classifier files
// with their metadata (and hostile ones), and `evaluate_model` end to end on a tiny npy set.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "core/io/image.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/sha256.h"
#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "image_test_util.h"
#include "models/classifier/classifier.h"
#include "models/eval/evaluate.h"
#include "models/eval/real_images.h"
#include "models/eval/reference_classifier.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;
using mg::test::error_of;
using mg::test::has;
using mg::test::TempDir;

namespace {

int64_t parameter_count(nn::Module& m) {
    int64_t n = 0;
    for (const auto& [name, t] : m.state_dict()) n += t.numel();
    return n;
}

// The file a reference classifier of `shape` is, with `metadata` instead of its own.
std::string reference_bytes(const TempDir& dir, const models::ClassifierShape& shape,
                            const io::Metadata& metadata) {
    manual_seed(1);
    models::ClassifierNet net(shape);
    io::TensorList tensors;
    for (const auto& [name, t] : net.state_dict()) tensors.emplace_back(name, t);
    io::save_safetensors(dir / "hostile.safetensors", tensors, metadata);
    return test::file_bytes(dir / "hostile.safetensors");
}

io::Metadata metadata_of(const models::ClassifierShape& s, const std::string& data = "npy:x.npy") {
    nlohmann::json names = nlohmann::json::array();
    for (int64_t i = 0; i < s.classes; ++i) names.push_back("class " + std::to_string(i));
    return {{"model", "classifier"},          {"channels", std::to_string(s.channels)},
            {"height", std::to_string(s.height)}, {"width", std::to_string(s.width)},
            {"classes", std::to_string(s.classes)}, {"class_names", names.dump()},
            {"data", data},                       {"test_accuracy", "0.5"},
            {"provenance", "test"}};
}

std::string load_error(const std::string& bytes) {
    return error_of([&] { eval::ReferenceClassifier::from_bytes(bytes.data(), bytes.size(), "hostile", "hostile"); });
}

// A tiny image set of two classes at 16x16 RGB, 40 images each, as npy: data (uint8 NHWC).
// Class 0: dark horizontal gradients, class 1: bright vertical ones, with a little noise.
std::string write_tiny_set(const TempDir& dir) {
    const int64_t n = 80, s = 16;
    std::vector<uint8_t> px(size_t(n * s * s * 3));
    std::vector<int64_t> labels(static_cast<size_t>(n));
    manual_seed(4);
    std::vector<float> noise = rand({n * s * s * 3}).to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = i % 2;
        labels[size_t(i)] = c;
        for (int64_t y = 0; y < s; ++y)
            for (int64_t x = 0; x < s; ++x)
                for (int64_t ch = 0; ch < 3; ++ch) {
                    const size_t k = size_t(((i * s + y) * s + x) * 3 + ch);
                    const double base = c == 0 ? 10.0 * x : 100.0 + 9.0 * y + 20.0 * ch;
                    px[k] = uint8_t(std::min(255.0, base + 30.0 * noise[k]));
                }
    }
    io::write_npy(dir / "images.npy", from_vector(px, Shape{n, s, s, 3}));
    io::write_npy(dir / "labels.npy", from_vector(labels, Shape{n}));
    return "npy:" + (dir / "images.npy") + ",labels=" + (dir / "labels.npy");
}

// Trains `name` on `data` for 2 steps into dir/name; returns the model.
std::unique_ptr<models::Model> train_two_steps(const TempDir& dir, const std::string& name, const std::string& data,
                                               nlohmann::json options) {
    models::ModelConfig config;
    config.seed = 3;
    config.options = std::move(options);
    config.options["data"] = data;
    config.options["image_size"] = 16;
    auto model = models::find_model(name).create(config);
    models::TrainOptions o;
    o.out_dir = dir / name;
    o.steps = 2;
    o.sample_count = 4;
    models::train(*model, o);
    return model;
}

}  // namespace

TEST_CASE("classifier: one conv block per halving down to at most 8x8, grey and RGB, any class count") {
    // (side, blocks, channels after the last block): the flattened features are c * side'^2.
    struct Case {
        int64_t side, flat;
    };
    for (Case k : {Case{16, 64 * 4 * 4}, Case{32, 128 * 4 * 4}, Case{64, 128 * 4 * 4}})
        for (int64_t channels : {1, 3}) {
            CAPTURE(k.side);
            CAPTURE(channels);
            models::ClassifierNet net({channels, k.side, k.side, 9});
            Tensor x = rand({2, channels, k.side, k.side});
            CHECK(net.features(x).shape() == Shape{2, 128});
            CHECK(net(x).shape() == Shape{2, 9});
            // The trunk's Linear takes the last block's output.
            nn::StateDict sd = net.state_dict();
            int64_t linear_in = 0;
            for (const auto& [name, t] : sd)
                if (t.dim() == 2 && name.rfind("trunk.", 0) == 0) linear_in = t.size(1);
            CHECK(linear_in == k.flat);
            CHECK(has(error_of([&] { net.features(rand({2, channels, k.side + 2, k.side})); }),
                      fmt::format("[N, {}, {}, {}]", channels, k.side, k.side)));
        }
    // Small enough to ship: the emoji classifier's shape is well under 2 MB of float32.
    models::ClassifierNet emoji({3, 32, 32, 9});
    CHECK(parameter_count(emoji) * 4 < 1600 * 1000);
    CHECK(has(error_of([] { models::ClassifierNet({2, 32, 32, 9}); }), "1 or 3 channels"));
    CHECK(has(error_of([] { models::ClassifierNet({3, 32, 32, 1}); }), "2..65536 classes"));
}

TEST_CASE("classifier: the default network is the Fashion-MNIST one the built-in weights fit") {
    models::ClassifierNet net;
    CHECK(net.shape() == models::ClassifierShape{1, 28, 28, 10});
    std::vector<std::pair<std::string, Shape>> shapes;
    for (const auto& [name, t] : net.state_dict()) shapes.emplace_back(name, t.shape());
    const std::vector<std::pair<std::string, Shape>> want = {
        {"trunk.0.weight", {32, 1, 3, 3}}, {"trunk.0.bias", {32}},   {"trunk.3.weight", {64, 32, 3, 3}},
        {"trunk.3.bias", {64}},            {"trunk.7.weight", {128, 3136}}, {"trunk.7.bias", {128}},
        {"head.weight", {10, 128}},        {"head.bias", {10}}};
    CHECK(shapes == want);
    if (!eval::has_builtin_reference_classifier()) return;
    eval::ReferenceClassifier& ref = eval::ReferenceClassifier::get();
    CHECK(ref.info().shape == models::ClassifierShape{1, 28, 28, 10});
    CHECK(ref.info().data == "fashion-mnist");
    CHECK(ref.info().class_names.back() == "Ankle boot");
    CHECK(&eval::ReferenceClassifier::get("fashion-mnist") == &ref);
    CHECK(&eval::ReferenceClassifier::select(std::nullopt, "fashion-mnist") == &ref);
}

TEST_CASE("reference classifier: a 32x32 RGB file round trips with its metadata, and resizes other sizes") {
    manual_seed(7);
    models::ClassifierNet net({3, 32, 32, 4});
    TempDir dir("ref32");
    eval::ReferenceInfo info;
    info.class_names = {"a", "b", "c", "d"};
    info.data = "folder:/some/pictures";
    info.test_accuracy = 0.75;
    info.provenance = "a test";
    eval::write_reference_classifier(net, dir / "ref.safetensors", info);
    eval::ReferenceClassifier& ref = eval::ReferenceClassifier::get(dir / "ref.safetensors");
    CHECK(ref.sha256() == io::sha256_file(dir / "ref.safetensors"));
    CHECK(ref.name() == dir / "ref.safetensors");
    CHECK(ref.info().shape == models::ClassifierShape{3, 32, 32, 4});
    CHECK(ref.info().class_names == info.class_names);
    CHECK(ref.info().data == info.data);
    CHECK(ref.test_accuracy() == doctest::Approx(0.75));
    CHECK(ref.info().provenance == "a test");
    // The file is chosen for its data only when asked for: the built-ins are the defaults.
    CHECK(&eval::ReferenceClassifier::select(dir / "ref.safetensors", "npy:other.npy") == &ref);

    Tensor x = rand({3, 3, 32, 32});
    net.eval();
    autograd::NoGradGuard no_grad;
    mg::test::check_close(ref.features(x), net.features(x));
    CHECK(ref.probs(x).shape() == Shape{3, 4});
    // 64x64 images are box-filtered to 32x32: a 2x2-constant image comes out as its 32x32 self.
    Tensor small = (rand({2, 3, 32, 32}) * 255.0).to(DType::UInt8).to(DType::Float32) * (1.0 / 255.0);
    Tensor big = small.reshape({2, 3, 32, 1, 32, 1}).expand({2, 3, 32, 2, 32, 2}).contiguous().reshape({2, 3, 64, 64});
    CHECK(ref.resizes(64, 64));
    CHECK(!ref.resizes(32, 32));
    mg::test::check_close(ref.features(big), ref.features(small), 1e-5, 1e-5);
    CHECK(has(error_of([&] { ref.features(rand({2, 1, 32, 32})); }), "[N, 3, H, W]"));
}

TEST_CASE("fuzz: hostile reference classifier files are errors that name the file and the field") {
    TempDir dir("hostile");
    const models::ClassifierShape s{3, 16, 16, 3};
    auto with = [&](const std::string& key, const std::optional<std::string>& value) {
        io::Metadata m = metadata_of(s);
        if (value) m[key] = *value;
        else m.erase(key);
        return load_error(reference_bytes(dir, s, m));
    };
    CHECK(load_error(reference_bytes(dir, s, metadata_of(s))).empty());
    CHECK(has(with("model", std::nullopt), "hostile: not a minigen reference classifier (metadata 'model' is missing"));
    CHECK(has(with("model", "gan"), "'model' is 'gan'"));
    CHECK(has(with("test_accuracy", std::nullopt), "metadata 'test_accuracy' is missing"));
    CHECK(has(with("test_accuracy", "nan"), "'test_accuracy' must be a number in [0, 1], got 'nan'"));
    CHECK(has(with("test_accuracy", "1.5"), "'test_accuracy' must be a number in [0, 1]"));
    CHECK(has(with("height", std::nullopt), "metadata 'height' is missing"));
    CHECK(has(with("channels", "2"), "'channels' must be 1 or 3"));
    CHECK(has(with("width", "16px"), "'width' must be an integer in 1..1024, got '16px'"));
    CHECK(has(with("height", "99999999999999999999"), "'height' must be an integer"));
    CHECK(has(with("classes", "-3"), "'classes' must be an integer in 2..65536"));
    CHECK(has(with("class_names", "[\"a\", \"b\"]"), "expected a JSON array of 3 names"));
    CHECK(has(with("class_names", "[1, 2, 3]"), "each name must be a string"));
    CHECK(has(with("class_names", "[[[[[[[[\"deep\"]]]]]]]]"), "class_names"));
    CHECK(has(with("class_names", "not json"), "class_names"));
    CHECK(has(with("data", "bogus"), "metadata 'data' is not a data set"));
    // Only the Fashion-MNIST file may leave every shape key out, and then it is 1x28x28.
    io::Metadata legacy = {{"model", "classifier"}, {"test_accuracy", "0.9"}};
    CHECK(has(load_error(reference_bytes(dir, s, legacy)), "tensor 'trunk.0.weight' is [32, 3, 3, 3], but a 1x28x28 "
                                                            "classifier of 10 classes needs [32, 1, 3, 3]"));
    // The metadata and the tensors disagree.
    CHECK(has(load_error(reference_bytes(dir, {3, 32, 32, 3}, metadata_of(s))),
              "tensor 'trunk.7.weight' is missing (a 3x16x16 classifier of 3 classes has 8 tensors)"));
    CHECK(has(load_error(reference_bytes(dir, {3, 16, 16, 5}, metadata_of(s))), "tensor 'head.weight' is [5, 128]"));
    io::TensorList extra;
    manual_seed(1);
    models::ClassifierNet net(s);
    for (const auto& [name, t] : net.state_dict()) extra.emplace_back(name, t);
    extra.emplace_back("extra", zeros({1}));
    io::save_safetensors(dir / "extra.safetensors", extra, metadata_of(s));
    CHECK(has(load_error(test::file_bytes(dir / "extra.safetensors")), "9 tensors, but a 3x16x16 classifier"));
    extra.pop_back();
    extra.pop_back();
    io::save_safetensors(dir / "missing.safetensors", extra, metadata_of(s));
    CHECK(has(load_error(test::file_bytes(dir / "missing.safetensors")), "tensor 'head.bias' is missing"));
    extra.emplace_back("head.bias", full({3}, std::nan("")));
    io::save_safetensors(dir / "nan.safetensors", extra, metadata_of(s));
    CHECK(has(load_error(test::file_bytes(dir / "nan.safetensors")), "'head.bias' holds NaN"));
    extra.back().second = zeros({3}, {DType::Float64});
    io::save_safetensors(dir / "f64.safetensors", extra, metadata_of(s));
    CHECK(has(load_error(test::file_bytes(dir / "f64.safetensors")), "'head.bias' must be float32"));
    // A missing file and a directory, through --classifier.
    CHECK(has(error_of([&] { eval::ReferenceClassifier::get(dir / "none.safetensors"); }), "none.safetensors"));
    CHECK(has(error_of([&] { eval::ReferenceClassifier::get(dir.str()); }), "is a directory"));
}

TEST_CASE("fuzz: 300 corrupted reference classifier files each load or fail cleanly") {
    TempDir dir("corrupt");
    const models::ClassifierShape s{1, 4, 4, 2};  // no conv block: a few kB
    const std::string good = reference_bytes(dir, s, metadata_of(s));
    manual_seed(11);
    std::vector<float> r = rand({300 * 4}).to_vector<float>();
    int loaded = 0, rejected = 0;
    for (int i = 0; i < 300; ++i) {
        std::string bytes = good;
        const float* u = &r[size_t(i) * 4];
        if (i % 3 == 0) {
            bytes.resize(size_t(u[0] * float(bytes.size())));  // truncated
        } else {
            // Bytes overwritten, mostly in the header (where the lengths and metadata are).
            const size_t header = std::min<size_t>(bytes.size(), 600);
            for (int k = 0; k < 1 + int(u[1] * 4); ++k) {
                const size_t at = size_t(u[2 + k % 2] * float(i % 2 ? header : bytes.size())) % bytes.size();
                bytes[at] = char(uint8_t(u[(k + 1) % 4] * 255.0f) ^ uint8_t(k * 37));
            }
        }
        const std::string e = load_error(bytes);
        if (e.empty()) ++loaded;
        else {
            ++rejected;
            CHECK(has(e, "hostile"));
        }
    }
    MESSAGE("reference fuzz: " << loaded << " loaded, " << rejected << " rejected");
    CHECK(rejected > 100);
}

TEST_CASE("eval: sample files of any size, grey or RGB, NCHW float or NHWC uint8") {
    TempDir dir("samples-any");
    io::write_npy(dir / "rgb.npy", rand({4, 3, 16, 24}));
    CHECK(eval::load_sample_file(dir / "rgb.npy").shape() == Shape{4, 3, 16, 24});
    Tensor nhwc = (rand({2, 8, 8, 3}) * 255.0).to(DType::UInt8);
    io::write_npy(dir / "nhwc.npy", nhwc);
    Tensor back = eval::load_sample_file(dir / "nhwc.npy");
    CHECK(back.shape() == Shape{2, 3, 8, 8});
    // Image 1, channel 2, row 5, column 4.
    CHECK(back.to_vector<float>()[((1 * 3 + 2) * 8 + 5) * 8 + 4] ==
          doctest::Approx(nhwc.to_vector<uint8_t>()[((1 * 8 + 5) * 8 + 4) * 3 + 2] / 255.0));
    io::write_npy(dir / "nhwc-float.npy", rand({2, 8, 8, 3}));
    CHECK(has(error_of([&] { eval::load_sample_file(dir / "nhwc-float.npy"); }), "uint8 [N, H, W, C], got [2, 8, 8, 3]"));
    io::write_npy(dir / "big.npy", rand({1, 1, 2000, 4}));
    CHECK(has(error_of([&] { eval::load_sample_file(dir / "big.npy"); }), "sides must lie in 1..1024"));
}

TEST_CASE("eval: a tiny dcgan on a tiny npy set, scored by a tiny classifier of that data") {
    TempDir dir("eval-npy");
    const std::string data = write_tiny_set(dir);
    auto classifier = train_two_steps(dir, "classifier", data, {{"batch_size", 16}});
    models::ClassifierNet& net = models::classifier_network(*classifier);
    CHECK(net.shape() == models::ClassifierShape{3, 16, 16, 2});
    CHECK(classifier->config()["data"] == data);
    eval::RealImages test = eval::load_real_images(classifier->data_spec(), eval::RealSplit::HeldOut, std::nullopt);
    CHECK(test.images.shape() == Shape{8, 3, 16, 16});  // every 10th image of each class
    CHECK(test.classes == std::vector<std::string>{"0", "1"});
    eval::ReferenceInfo info;
    info.class_names = test.classes;
    info.data = test.data;
    info.test_accuracy = models::classifier_accuracy(net, data::to_float(test.images, data::PixelRange::ZeroOne),
                                                      test.labels);
    eval::write_reference_classifier(net, dir / "tiny.safetensors", info);

    auto dcgan = train_two_steps(dir, "dcgan", data, {{"width", 4}, {"z_dim", 8}, {"batch_size", 8}});
    eval::EvalOptions o;
    o.progress = false;
    o.samples = 40;
    o.kid_subsets = 5;
    o.kid_subset_size = 8;
    // No classifier of this data is built in: the error says how to make one.
    const std::string e = error_of([&] { eval::evaluate_model(*dcgan, o); });
    CHECK(has(e, "no classifier of"));
    CHECK(has(e, "minigen train classifier --data " + data));
    CHECK(has(e, "--save-reference"));

    o.classifier = dir / "tiny.safetensors";
    o.memorisation_grid = dir / "nearest.png";
    nlohmann::json j = eval::evaluate_model(*dcgan, o);
    INFO(j.dump(1));
    for (const char* key : {"fid", "fid_infinity", "kid", "kid_std", "precision", "recall", "density", "coverage", "is",
                            "class_kl", "classifier_test_accuracy"}) {
        CAPTURE(key);
        REQUIRE(j.contains(key));
        CHECK(std::isfinite(j[key].get<double>()));
    }
    CHECK(j["classifier"] == io::sha256_file(dir / "tiny.safetensors"));
    CHECK(j["classifier_name"] == dir / "tiny.safetensors");
    CHECK(j["classifier_data"] == data);
    CHECK(j["data"] == data);
    CHECK(j["classifier_input"] == nlohmann::json::array({3, 16, 16}));
    CHECK(j["test_images"] == 8);
    CHECK(!j.contains("classifier_resize"));
    CHECK(j["samples"] == 40);
    for (const char* part : {"floor", "ceiling"})
        for (const char* key : {"fid", "kid", "precision", "recall"}) CHECK(std::isfinite(j[part][key].get<double>()));
    CHECK(j["floor"]["what"] == "8 training images vs the 8 test images");
    CHECK(j["floor"]["fid"].get<double>() < j["ceiling"]["fid"].get<double>());
    CHECK(j["fid_infinity_points"].size() == 5);
    CHECK(j["fid_infinity_points"][4][0] == 40);
    CHECK(j["fid_infinity_points"][4][1].get<double>() == doctest::Approx(j["fid"].get<double>()).epsilon(1e-9));
    // Every training image (fewer than the default cap), each sample's nearest, and the grid
    // of the 16 nearest pairs: 4 rows of 8 tiles of 16 px scaled by 4, 2 px borders.
    const nlohmann::json& m = j["memorisation"];
    CHECK(m["train_images"] == 72);
    CHECK(m["sample_distance"]["p1"].get<double>() <= m["sample_distance"]["p50"].get<double>());
    CHECK(m["closer_than_test_p1"].get<double>() >= 0);
    CHECK(io::read_png(dir / "nearest.png").shape() == Shape{1, 3, 4 * 66 + 2, 8 * 66 + 2});

    // Samples of another size (a sample file's) are resized to the classifier's, and say so.
    o.memorisation_grid.reset();  // a grid needs samples of the training images' size
    o.data = dcgan->data_spec();
    manual_seed(2);
    nlohmann::json big = eval::score_images(rand({10, 3, 32, 32}), Tensor(), o);
    CHECK(big["classifier_resize_samples"] == "32x32 samples resized to 16x16 (area filter, through 8 bits)");
    CHECK(std::isfinite(big["fid"].get<double>()));
    CHECK(has(error_of([&] { eval::score_images(rand({10, 1, 16, 16}), Tensor(), o); }),
              "samples must be images [N, 3, H, W]"));

    // A conditional model: intra-class FID per class name, and CAS beside its real baseline.
    auto cgan = train_two_steps(dir, "cgan", data, {{"width", 4}, {"z_dim", 8}, {"batch_size", 8}});
    o.cas = true;
    o.cas_steps = 3;
    nlohmann::json c = eval::evaluate_model(*cgan, o);
    INFO(c.dump(1));
    CHECK(c["intra_fid_per_class"].size() == 2);
    CHECK(c["intra_fid"].get<double>() ==
          doctest::Approx((c["intra_fid_per_class"]["0"].get<double>() + c["intra_fid_per_class"]["1"].get<double>()) / 2));
    for (const char* key : {"cas", "cas_real"}) CHECK((c[key].get<double>() >= 0 && c[key].get<double>() <= 1));
    CHECK(c["cas_steps"] == 3);
    CHECK(c["cas_real_images"] == 40);
}

TEST_CASE("reference classifier: the built-in emoji classifier is chosen for emoji data") {
    if (!eval::has_builtin_reference_classifier("emoji")) {
        MESSAGE("no built-in emoji classifier: skipped");
        return;
    }
    eval::ReferenceClassifier& emoji = eval::ReferenceClassifier::get("emoji");
    // The shipped weights (models/classifier/emoji.safetensors, docs/evaluation.md): a new
    // classifier changes every emoji metric; update this hash and the docs together.
    CHECK(emoji.sha256() == "57e5c999d58bd4df1a0243b9149e3499d6fc7e465a0a0f06a4ae34a1e49f0e1d");
    CHECK(emoji.source() == "built-in");
    CHECK(emoji.info().shape == models::ClassifierShape{3, 32, 32, 9});
    CHECK(emoji.info().data == "emoji");
    CHECK(emoji.info().class_names.front() == "Activities");
    CHECK(emoji.test_accuracy() > 0.8);
    CHECK(&eval::ReferenceClassifier::select(std::nullopt, "emoji") == &emoji);
    CHECK(has(error_of([] { eval::ReferenceClassifier::select(std::nullopt, "emoji:google"); }),
              "no classifier of emoji:google"));
    CHECK(&eval::ReferenceClassifier::select("emoji", "emoji:google") == &emoji);
}
