// nn modules against PyTorch. Each fixture (tests/reference/make_nn_fixtures.py)
// holds a module's weights, an input, PyTorch's output, a loss sum(output * proj)
// and every gradient; here the same module is built in minigen, loaded with the
// weights by load_state_dict (strict: the names must be PyTorch's), run forward
// and backward in float32, and compared. Its printout must match PyTorch's too.
//
// Error measure: max |got - want| / max |want| over the tensor (want in float64),
// below 1e-4.
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "core/nn/nn.h"
#include "fixture_reader.h"
#include "helpers.h"
#include "kernels/device.h"

using namespace mg;

namespace {

constexpr double kTolerance = 1e-4;

using Factory = std::function<std::shared_ptr<nn::Module>()>;

// Fixture name -> the minigen module that mirrors it (filled by NN_FIXTURE below).
std::map<std::string, Factory>& cases() {
    static std::map<std::string, Factory> table;
    return table;
}
bool add_case(const std::string& name, Factory make) { return cases().emplace(name, std::move(make)).second; }

std::string fixture_path(const std::string& name) {
    return std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/nn_" + name + ".safetensors";
}

double relative_error(const Tensor& got, const Tensor& want) {
    std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

void check_matches(const std::string& what, const Tensor& got, const Tensor& want) {
    INFO(what);
    REQUIRE(got.defined());
    REQUIRE(got.shape() == want.shape());
    if (want.dtype() == DType::Int64) {
        CHECK(got.to_vector<int64_t>() == want.to_vector<int64_t>());
        return;
    }
    double err = relative_error(got, want);
    INFO("relative error " << err);
    CHECK(err < kTolerance);
}

using test::starts_with;

// Dropout draws its own mask: check what any correct mask satisfies.
void check_dropout(const test::Fixture& f, const Tensor& x, const Tensor& y) {
    double p = std::stod(f.meta("p"));
    std::vector<float> xs = x.to_vector<float>(), ys = y.to_vector<float>(), proj = f.at("proj").to_vector<float>();
    std::vector<float> gx = x.grad().to_vector<float>();
    size_t dropped = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
        bool kept = ys[i] != 0.0f;
        dropped += !kept;
        float want_y = kept ? float(xs[i] / (1 - p)) : 0.0f;
        float want_g = kept ? float(proj[i] / (1 - p)) : 0.0f;
        REQUIRE(std::abs(ys[i] - want_y) <= 1e-5f * (1 + std::abs(want_y)));
        REQUIRE(std::abs(gx[i] - want_g) <= 1e-5f * (1 + std::abs(want_g)));
    }
    double fraction = double(dropped) / double(xs.size());
    INFO("dropped fraction " << fraction << ", p " << p);
    CHECK(std::abs(fraction - p) < 0.1);  // 500 elements: 5 standard deviations
}

// Builds the module, loads PyTorch's weights and compares a forward and backward
// run on `device` with PyTorch's numbers.
void run_fixture(const std::string& name, Device device = Device::CPU) {
    INFO("fixture " << name << " on " << device_name(device));
    test::Fixture f = test::read_fixture(fixture_path(name));
    std::shared_ptr<nn::Module> built = cases().at(name)();
    nn::Module& module = *built;
    CHECK(module.repr() == f.meta("repr"));

    // A PixelCNN mask is part of the layer's definition, not learned: ours must
    // already equal PyTorch's before the load below overwrites it.
    for (const auto& [bname, b] : module.named_buffers())
        if (bname == "mask" || (bname.size() > 5 && bname.compare(bname.size() - 5, 5, ".mask") == 0))
            check_matches("constructed " + bname, b, f.at("state." + bname));

    nn::StateDict state;
    for (const auto& [key, t] : f.tensors)
        if (starts_with(key, "state.")) state.insert(key.substr(6), t);
    module.to(device);
    module.load_state_dict(state);  // strict: every name as PyTorch writes it (copies across devices)
    module.train(f.meta("mode") == "train");

    Tensor x = f.at("input").to(device);
    if (is_floating(x.dtype())) x.requires_grad_();
    Tensor y = module(x);
    CHECK(y.device() == device);
    Tensor loss = sum(mul(y, f.at("proj").to(device)));
    loss.backward();

    if (f.metadata.count("check") && f.meta("check") == "dropout") return check_dropout(f, x, y);

    check_matches("output", y, f.at("output"));
    check_matches("loss", loss, f.at("loss"));
    if (is_floating(x.dtype())) check_matches("grad.input", x.grad(), f.at("grad.input"));
    std::set<std::string> expected_keys;
    for (const auto& [key, t] : f.tensors)
        if (starts_with(key, "grad.") || starts_with(key, "after.")) expected_keys.insert(key);
    std::set<std::string> checked_keys;
    if (is_floating(x.dtype())) checked_keys.insert("grad.input");
    for (const auto& [pname, p] : module.named_parameters()) {
        check_matches("grad." + pname, p.grad(), f.at("grad." + pname));
        checked_keys.insert("grad." + pname);
    }
    for (const auto& [bname, b] : module.named_buffers()) {
        check_matches("after." + bname, b, f.at("after." + bname));
        checked_keys.insert("after." + bname);
    }
    for (const std::string& key : expected_keys)
        CHECK_MESSAGE(checked_keys.count(key), "unchecked fixture entry " << key);
}

template <class M, class... Args> std::shared_ptr<M> mk(Args&&... args) {
    return std::make_shared<M>(std::forward<Args>(args)...);
}

}  // namespace

// One test per fixture: NN_FIXTURE(fixture name, the minigen module).
#define NN_FIXTURE(name, ...)                                                   \
    static const bool registered_##name =                                       \
        add_case(#name, [] { return std::shared_ptr<nn::Module>(__VA_ARGS__); }); \
    TEST_CASE("nn vs PyTorch: " #name) {                                        \
        REQUIRE(registered_##name);                                             \
        run_fixture(#name);                                                     \
    }

using nn::Sequential;

NN_FIXTURE(linear, mk<nn::Linear>(5, 3))
NN_FIXTURE(linear_nobias, mk<nn::Linear>(4, 2, false))
NN_FIXTURE(conv2d, mk<nn::Conv2d>(4, 6, 3, 2, 1, 1, 2))
NN_FIXTURE(conv2d_dilated, mk<nn::Conv2d>(3, 2, Pair(3, 2), Pair(1, 2), Pair(2, 1), 2, 1, false))
NN_FIXTURE(conv_transpose2d, mk<nn::ConvTranspose2d>(4, 6, 4, 2, 1, 1, 2))
NN_FIXTURE(conv_transpose2d_dilated, mk<nn::ConvTranspose2d>(3, 2, 3, 1, 1, 0, 1, false, 2))
NN_FIXTURE(masked_conv2d_a, mk<nn::MaskedConv2d>('A', 2, 3, 5, 2))
NN_FIXTURE(masked_conv2d_b, mk<nn::MaskedConv2d>('B', 3, 3, 3, 1, false))
NN_FIXTURE(batchnorm1d_train, mk<nn::BatchNorm1d>(4))
NN_FIXTURE(batchnorm1d_3d_eval, mk<nn::BatchNorm1d>(3))
NN_FIXTURE(batchnorm1d_cumulative, mk<nn::BatchNorm1d>(3, 1e-5, std::nullopt))
NN_FIXTURE(batchnorm2d_train, mk<nn::BatchNorm2d>(3))
NN_FIXTURE(batchnorm2d_eval, mk<nn::BatchNorm2d>(3, 1e-3))
NN_FIXTURE(batchnorm2d_batch_stats, mk<nn::BatchNorm2d>(3, 1e-5, 0.1, false, false))
NN_FIXTURE(layernorm, mk<nn::LayerNorm>(Shape{3, 4}))
NN_FIXTURE(layernorm_plain, mk<nn::LayerNorm>(6, 1e-3, false))
NN_FIXTURE(embedding, mk<nn::Embedding>(10, 4))
NN_FIXTURE(dropout_train, mk<nn::Dropout>(0.3))
NN_FIXTURE(dropout_eval, mk<nn::Dropout>(0.3))
NN_FIXTURE(flatten, mk<nn::Flatten>())
NN_FIXTURE(flatten_middle, mk<nn::Flatten>(1, 2))
NN_FIXTURE(unflatten, mk<nn::Unflatten>(1, std::vector<int64_t>{2, 3}))
NN_FIXTURE(relu, mk<nn::ReLU>())
NN_FIXTURE(leaky_relu, mk<nn::LeakyReLU>(0.2))
NN_FIXTURE(elu, mk<nn::ELU>(0.7))
NN_FIXTURE(tanh, mk<nn::Tanh>())
NN_FIXTURE(sigmoid, mk<nn::Sigmoid>())
NN_FIXTURE(softplus, mk<nn::Softplus>())
NN_FIXTURE(softplus_beta, mk<nn::Softplus>(2.0, 3.0))
NN_FIXTURE(gelu, mk<nn::GELU>())
NN_FIXTURE(identity, mk<nn::Identity>())
NN_FIXTURE(sequential_discriminator,
           mk<Sequential>(mk<nn::Conv2d>(1, 4, 4, 2, 1), mk<nn::LeakyReLU>(0.2),
                            mk<Sequential>(mk<nn::Conv2d>(4, 8, 4, 2, 1, 1, 1, false), mk<nn::BatchNorm2d>(8),
                                           mk<nn::LeakyReLU>(0.2)),
                            mk<nn::Flatten>(), mk<nn::Linear>(8 * 2 * 2, 1)))
NN_FIXTURE(sequential_generator,
           mk<Sequential>(mk<nn::Linear>(6, 8 * 2 * 2), mk<nn::Unflatten>(1, std::vector<int64_t>{8, 2, 2}),
                            mk<nn::BatchNorm2d>(8), mk<nn::ReLU>(), mk<nn::ConvTranspose2d>(8, 4, 4, 2, 1),
                            mk<nn::Tanh>()))
NN_FIXTURE(sequential_pixelcnn,
           mk<Sequential>(mk<nn::MaskedConv2d>('A', 1, 4, 5, 2, false), mk<nn::BatchNorm2d>(4), mk<nn::ReLU>(),
                            mk<nn::MaskedConv2d>('B', 4, 4, 3, 1, false), mk<nn::BatchNorm2d>(4), mk<nn::ReLU>(),
                            mk<nn::Conv2d>(4, 5, 1)))

TEST_CASE("nn vs PyTorch: every fixture file has a test") {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(MINIGEN_SOURCE_DIR) / "tests/reference/fixtures";
    REQUIRE(fs::is_directory(dir));
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        std::string file = entry.path().filename().string();
        if (starts_with(file, "nn_") && entry.path().extension() == ".safetensors")
            files.insert(file.substr(3, file.size() - 3 - std::string(".safetensors").size()));
    }
    std::set<std::string> tested;
    for (const auto& [name, make] : cases()) tested.insert(name);
    CHECK(files == tested);
}

// The same fixtures with the modules moved to the GPU (Module::to(Device)) and the
// weights loaded across devices; skipped without one.
TEST_CASE("nn vs PyTorch on CUDA: every fixture") {
    if (!kernels::cuda::available()) {
        MESSAGE("skipped: " << kernels::cuda::unavailable_reason());
        return;
    }
    for (const auto& [name, make] : cases()) run_fixture(name, Device::CUDA);
}

TEST_CASE("fixture reader: reports a truncated file") {
    namespace fs = std::filesystem;
    fs::path tmp = fs::temp_directory_path() / "minigen_truncated_fixture.safetensors";
    {
        std::ifstream in(fixture_path("linear"), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream out(tmp, std::ios::binary);
        out << bytes.substr(0, bytes.size() - 4);
    }
    std::string msg = test::error_of([&] { test::read_fixture(tmp.string()); });
    fs::remove(tmp);
    CHECK(msg.find("data_offsets") != std::string::npos);
}
