// The evaluation plumbing around the metrics: content hashes, sample files, the
// reference classifier and `evaluate_model` end to end on a tiny generator.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/data/fashion_mnist.h"
#include "core/data/idx.h"
#include "core/data/transforms.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/sha256.h"
#include "core/nn/pool.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/classifier/classifier.h"
#include "models/eval/cas.h"
#include "models/eval/evaluate.h"
#include "models/eval/reference_classifier.h"
#include "tests/helpers.h"

using namespace mg;
using mg::test::error_of;
using mg::test::TempDir;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool have_fashion_mnist() {
    return std::filesystem::exists(data::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
}
}  // namespace

TEST_CASE("sha256: FIPS 180-4 test vectors, across the one- and two-block padding boundary") {
    CHECK(io::sha256_hex("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(io::sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char* two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 56 bytes: padding spills
    CHECK(io::sha256_hex(two, std::strlen(two)) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    std::string million(1000000, 'a');
    CHECK(io::sha256_hex(million.data(), million.size()) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("npy: round trip of each dtype, and clear errors for bad files") {
    TempDir dir("npy");
    Tensor f = randn({3, 28, 28});
    io::write_npy(dir / "f.npy", f);
    Tensor g = io::read_npy(dir / "f.npy");
    CHECK(g.shape() == f.shape());
    CHECK(g.to_vector<float>() == f.to_vector<float>());
    Tensor v = from_vector(std::vector<int64_t>{1, -2, 3});
    io::write_npy(dir / "v.npy", v);
    CHECK(io::read_npy(dir / "v.npy").to_vector<int64_t>() == v.to_vector<int64_t>());
    {
        std::ofstream(dir / "bad.npy") << "not an npy file at all";
        CHECK(contains(error_of([&] { io::read_npy(dir / "bad.npy"); }), "is not a .npy file"));
    }
    {  // truncated data
        std::ifstream in(dir / "f.npy", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(dir / "short.npy", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
        std::string e = error_of([&] { io::read_npy(dir / "short.npy"); });
        CHECK(contains(e, "needs 9408 data bytes"));
    }
}

TEST_CASE("eval: sample files are checked for shape, dtype and range") {
    TempDir dir("samples");
    io::write_npy(dir / "ok.npy", rand({5, 1, 28, 28}));
    Tensor ok = eval::load_sample_file(dir / "ok.npy");
    CHECK(ok.shape() == Shape{5, 1, 28, 28});
    io::write_npy(dir / "pm.npy", rand({4, 28, 28}) * 2.0 - 1.0);
    CHECK(contains(error_of([&] { eval::load_sample_file(dir / "pm.npy"); }), "--range=-1,1"));
    CHECK(amin(eval::load_sample_file(dir / "pm.npy", true)).item() >= 0.0);
    io::write_npy(dir / "shape.npy", rand({5, 2, 32, 32}));
    CHECK(contains(error_of([&] { eval::load_sample_file(dir / "shape.npy"); }), "expected images [N, H, W], [N, C, H, W]"));
    io::write_npy(dir / "nan.npy", full({2, 28, 28}, std::nan("")));
    CHECK(contains(error_of([&] { eval::load_sample_file(dir / "nan.npy"); }), "NaN"));
    Tensor u8 = zeros({3, 28, 28}, {DType::UInt8});
    u8.fill_(255.0);
    data::write_idx_uint8(dir / "s.idx", u8);
    CHECK(amin(eval::load_sample_file(dir / "s.idx")).item() == doctest::Approx(1.0));
    std::ofstream(dir / "junk.idx") << "junk";
    CHECK(!error_of([&] { eval::load_sample_file(dir / "junk.idx"); }).empty());
}

TEST_CASE("safetensors: a file image in memory reads like the file") {
    TempDir dir("st");
    io::save_safetensors(dir / "a.safetensors", io::TensorList{{"w", randn({4, 3})}}, {{"k", "v"}});
    std::ifstream in(dir / "a.safetensors", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    io::SafetensorsContents a = io::load_safetensors(dir / "a.safetensors");
    io::SafetensorsContents b = io::load_safetensors(bytes.data(), bytes.size(), "memory");
    CHECK(a.tensors.at("w").to_vector<float>() == b.tensors.at("w").to_vector<float>());
    CHECK(b.metadata.at("k") == "v");
    std::string e = error_of([&] { io::load_safetensors(bytes.data(), bytes.size() - 4, "memory"); });
    CHECK(contains(e, "memory"));
}

TEST_CASE("nn: MaxPool2d and AvgPool2d are the pooling ops, printed as PyTorch does") {
    nn::MaxPool2d mp(2);
    Tensor x = randn({2, 3, 6, 6});
    CHECK(mp(x).to_vector<float>() == max_pool2d(x, 2).to_vector<float>());
    CHECK(mp.extra_repr() == "kernel_size=2, stride=2, padding=0");
    nn::AvgPool2d ap(3, 1, 1);
    CHECK(ap(x).shape() == Shape{2, 3, 6, 6});
}

TEST_CASE("reference classifier: frozen weights round trip with their hash, and the network's shapes") {
    manual_seed(3);
    models::ClassifierNet net;
    Tensor x = rand({5, 1, 28, 28});
    CHECK(net.features(x).shape() == Shape{5, 128});
    CHECK(net(x).shape() == Shape{5, 10});
    CHECK(contains(error_of([&] { net.features(rand({2, 1, 32, 32})); }), "[N, 1, 28, 28]"));

    TempDir dir("ref");
    eval::ReferenceInfo info;
    info.class_names = std::vector<std::string>(10, "c");
    info.test_accuracy = 0.5;
    eval::write_reference_classifier(net, dir / "ref.safetensors", info);
    eval::ReferenceClassifier& ref = eval::ReferenceClassifier::get(dir / "ref.safetensors");
    CHECK(ref.sha256() == io::sha256_file(dir / "ref.safetensors"));
    CHECK(ref.test_accuracy() == doctest::Approx(0.5));
    net.eval();
    autograd::NoGradGuard no_grad;
    mg::test::check_close(ref.features(x), net.features(x));
    Tensor p = ref.probs(x);
    mg::test::check_close(sum(p, {1}), ones({5}), 1e-5, 1e-5);
}

TEST_CASE("reference classifier: the built-in weights load and classify the test set") {
    if (!eval::has_builtin_reference_classifier() || !have_fashion_mnist()) {
        MESSAGE("no built-in reference classifier or no Fashion-MNIST: skipped");
        return;
    }
    eval::ReferenceClassifier& ref = eval::ReferenceClassifier::get();
    // The shipped weights (models/classifier/reference.safetensors, docs/evaluation.md). A
    // new classifier changes every metric: update this hash and the docs' numbers together.
    CHECK(ref.sha256() == "ff64b3fbc61fe1625ea898a39bc4ed1caa62365594d488fb8709b2232e552d50");
    CHECK(ref.test_accuracy() >= 0.91);
    data::Dataset test = data::load_fashion_mnist(data::Split::Test);
    Tensor images = data::to_float(test.images.slice(0, 0, 1000), data::PixelRange::ZeroOne);
    Tensor pred = argmax(ref.probs(images), 1);
    double acc = sum(eq(pred, test.labels.slice(0, 0, 1000)).to(DType::Float64)).item() / 1000.0;
    CHECK(acc >= 0.88);  // 1,000 images of a >= 91% classifier
}

TEST_CASE("eval: test images score near the floor, noise near the ceiling") {
    if (!eval::has_builtin_reference_classifier() || !have_fashion_mnist()) {
        MESSAGE("no built-in reference classifier or no Fashion-MNIST: skipped");
        return;
    }
    eval::EvalOptions o;
    o.progress = false;
    o.kid_subsets = 10;
    o.memorisation_images = 0;  // 10,000 more images to classify; tests/test_eval_image_data.cpp runs it
    data::Dataset train = data::load_fashion_mnist(data::Split::Train);
    Tensor real = data::to_float(train.images.slice(0, 0, 2000), data::PixelRange::ZeroOne);
    nlohmann::json good = eval::score_images(real, Tensor(), o);
    manual_seed(1);
    nlohmann::json bad = eval::score_images(rand({2000, 1, 28, 28}), Tensor(), o);
    CHECK(good["fid"].get<double>() < 0.05 * bad["fid"].get<double>());
    CHECK(good["kid"].get<double>() < 0.05 * bad["kid"].get<double>());
    CHECK(good["precision"].get<double>() > 0.5);
    // 2,000 samples against 10,000 real points: a perfect generator's expected coverage is
    // 1 - (10000/12000)^3 = 0.42 (Naeem et al.), not 1.
    CHECK(good["coverage"].get<double>() > 0.35);
    CHECK(bad["coverage"].get<double>() < 0.05);
    CHECK(good["density"].get<double>() > 5 * bad["density"].get<double>());
    CHECK(std::abs(good["fid_infinity"].get<double>()) < good["fid"].get<double>());  // FID's 1/N bias removed
    CHECK(!good.contains("memorisation"));
    // Noise collapses onto one class in feature space: recall is ~0; precision is not a
    // reliable ceiling (outliers among the real images have wide k-NN balls).
    CHECK(bad["recall"].get<double>() < 0.05);
    CHECK(good["class_kl"].get<double>() < 0.05);
    CHECK(good["is"].get<double>() > 5.0);
    CHECK(good["classifier"].get<std::string>() == eval::ReferenceClassifier::get().sha256());
}

TEST_CASE("eval: a phase that runs longer than progress_after_s shows its progress, rate and ETA") {
    if (!eval::has_builtin_reference_classifier() || !have_fashion_mnist()) {
        MESSAGE("no built-in reference classifier or no Fashion-MNIST: skipped");
        return;
    }
    eval::EvalOptions o;
    o.kid_subsets = 2;
    o.kid_subset_size = 200;
    o.progress_after_s = 0;  // every phase counts as long
    manual_seed(2);
    Tensor images = rand({1200, 1, 28, 28});
    TempDir dir;
    const std::string log = dir / "stderr.txt";
    {
        // stderr into the file for the call, put back even if it throws.
        struct Redirect {
            FILE* file;
            int saved;
            explicit Redirect(const std::string& path) : file(std::fopen(path.c_str(), "w")), saved(-1) {
                REQUIRE(file != nullptr);
                std::fflush(stderr);
                saved = dup(STDERR_FILENO);
                dup2(fileno(file), STDERR_FILENO);
            }
            ~Redirect() {
                std::fflush(stderr);
                dup2(saved, STDERR_FILENO);
                close(saved);
                std::fclose(file);
            }
        } redirect(log);
        eval::score_images(images, Tensor(), o);
    }
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(text);
    // Not a terminal: each shown phase ends with one plain line of its final count and rate.
    CHECK(contains(text, "eval: sample features 100% 1200/1200"));
    CHECK(contains(text, "img/s"));
    CHECK(contains(text, "eta"));
    CHECK(contains(text, "eval: metrics of the samples 100% 4/4"));
    CHECK(contains(text, "eval: scored 1200 samples"));
}

TEST_CASE("eval: CAS of real images is high, of images with the wrong labels near 0") {
    if (!have_fashion_mnist()) {
        MESSAGE("no Fashion-MNIST: skipped");
        return;
    }
    data::Dataset train = data::load_fashion_mnist(data::Split::Train);
    data::Dataset test = data::load_fashion_mnist(data::Split::Test);
    const Tensor images = data::to_float(train.images.slice(0, 0, 3000), data::PixelRange::ZeroOne);
    const Tensor labels = train.labels.slice(0, 0, 3000).contiguous();
    const Tensor test_images = data::to_float(test.images.slice(0, 0, 1000), data::PixelRange::ZeroOne);
    const Tensor test_labels = test.labels.slice(0, 0, 1000).contiguous();
    eval::CasBudget budget;
    budget.steps = 40;
    budget.batch_size = 64;
    const models::ClassifierShape shape;  // 1x28x28, 10 classes
    const double right = eval::train_and_test_classifier(shape, images, labels, test_images, test_labels, budget);
    // Every image labelled as the next class: a generator that draws class c + 1 when asked for c.
    std::vector<int64_t> next = labels.to_vector<int64_t>();
    for (int64_t& y : next) y = (y + 1) % 10;
    const Tensor shifted = from_vector(next);
    const double wrong = eval::train_and_test_classifier(shape, images, shifted, test_images, test_labels, budget);
    MESSAGE("CAS after " << budget.steps << " steps: right labels " << right << ", shifted labels " << wrong);
    CHECK(right > 0.6);
    CHECK(wrong < 0.1);
    CHECK(contains(error_of([&] {
                       eval::train_and_test_classifier(shape, images.slice(0, 0, 10), labels, test_images,
                                                       test_labels, budget);
                   }),
                   "cas: training labels must be int64 [10]"));
}
