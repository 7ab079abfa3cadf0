// One training step of every registered model on the GPU matches the same step on the CPU.
//
// Both copies of a model are built from the same seed (so the same initial weights), see
// the same batch, and draw the same noise (the Philox stream is the same on both devices).
// What may differ is float32 rounding: sums run in another order on the GPU. So:
//   - every metric of the step (losses, D(x), D(G(z)), per-layer gradient norms) agrees to
//     rtol 2e-3: the forward passes ran on identical weights and inputs;
//   - every parameter and buffer after the update agrees to 1e-5 + 1e-4 |p|, except that
//     Adam's first step moves each weight by about lr * sign(g), so an element whose
//     gradient is within rounding of zero may move the other way: at most 2 lr + 1e-5. Whole
//     tensors can be like that (a bias right before a batch norm has a zero gradient, so its
//     computed gradient is rounding noise; the running mean after it follows), so the
//     bound on how many may is over the whole model: < 0.1 % of its elements.
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include "core/data/loader.h"
#include "core/data/toy2d.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/capabilities.h"
#include "models/paired_data.h"
#include "models/registry.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

constexpr int64_t kBatch = 16;
constexpr double kLr = 1e-4;

data::Batch test_batch(const models::DataSpec& spec) {
    manual_seed(11);
    data::Batch b;
    if (spec.source == models::DataSpec::Source::Toy2d) {
        b.images = data::make_toy2d(data::parse_toy2d(spec.toy2d), kBatch, 3).points;
    } else {
        // Pixels on the 256 levels k/255 (what PixelCNN's targets require), in the model's range;
        // paired data (pix2pix) stacks its input's channels before the target's.
        const bool paired = spec.source == models::DataSpec::Source::Images && models::is_paired_data_spec(spec.images);
        const int64_t c = paired ? models::paired_input_channels(spec.images, spec.channels) + spec.channels : 1;
        Tensor levels = div(randint(0, 256, {kBatch, c, 28, 28}).to(DType::Float32), 255.0);
        b.images = spec.range == data::PixelRange::ZeroOne ? levels : sub(mul(levels, 2.0), 1.0);
    }
    if (spec.labels) b.labels = randint(0, 10, {kBatch});
    return b;
}

// The registered models, or those MINIGEN_TEST_MODELS names (comma-separated): the
// emulated backend (tests/simt) runs the small ones only.
std::vector<models::ModelInfo> models_under_test() {
    const char* only = std::getenv("MINIGEN_TEST_MODELS");
    std::set<std::string> names;
    if (only != nullptr)
        for (std::string rest = only; !rest.empty();) {
            const size_t comma = rest.find(',');
            names.insert(rest.substr(0, comma));
            rest = comma == std::string::npos ? std::string() : rest.substr(comma + 1);
        }
    std::vector<models::ModelInfo> out;
    for (const models::ModelInfo& info : models::all_models())
        if (only == nullptr || names.count(info.name)) out.push_back(info);
    return out;
}

std::unique_ptr<models::Model> build(const models::ModelInfo& info, Device device) {
    models::ModelConfig config;
    config.batch_size = kBatch;
    config.lr = kLr;
    config.seed = 5;
    config.device = device;
    return info.create(config);
}

void compare_metrics(const models::Metrics& cpu, const models::Metrics& gpu) {
    REQUIRE(cpu.size() == gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
        INFO("metric ", cpu[i].first, ": cpu ", cpu[i].second, ", cuda ", gpu[i].second);
        CHECK(cpu[i].first == gpu[i].first);
        const double scale = std::max({std::fabs(cpu[i].second), std::fabs(gpu[i].second), 1e-3});
        CHECK(std::fabs(cpu[i].second - gpu[i].second) <= 2e-3 * scale);
    }
}

// Elements compared, and those beyond 1e-5 + 1e-4 |p|, over a whole model.
struct StateDiff {
    size_t elements = 0, loose = 0;
};

void compare_state(const std::string& net, const nn::Module& cpu, const nn::Module& gpu, StateDiff& diff) {
    const nn::StateDict a = cpu.state_dict(), b = gpu.state_dict();
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        const Tensor& u = b.at(name);
        CHECK(u.device() == Device::CUDA);
        const std::vector<double> x = t.to(DType::Float64).to_vector<double>();
        const std::vector<double> y = u.to(Device::CPU).to(DType::Float64).to_vector<double>();
        REQUIRE(x.size() == y.size());
        size_t loose = 0;
        double worst = 0.0;
        for (size_t i = 0; i < x.size(); ++i) {
            const double d = std::fabs(x[i] - y[i]);
            worst = std::max(worst, d);
            if (d > 1e-5 + 1e-4 * std::fabs(x[i])) ++loose;
        }
        INFO(net, ".", name, ": ", loose, " of ", x.size(), " elements differ beyond 1e-5 + 1e-4|p|; worst ", worst);
        CHECK(worst <= 2 * kLr + 1e-5);
        diff.elements += x.size();
        diff.loose += loose;
    }
}

TEST_CASE("cuda models: one training step of every model matches the CPU step") {
    for (const models::ModelInfo& info : models_under_test()) {
        INFO("model ", info.name);
        auto cpu = build(info, Device::CPU);
        auto gpu = build(info, Device::CUDA);
        const data::Batch batch = test_batch(cpu->data_spec());
        manual_seed(7);
        const models::Metrics cpu_metrics = cpu->train_step(batch);
        manual_seed(7);
        const models::Metrics gpu_metrics = gpu->train_step(batch);
        compare_metrics(cpu_metrics, gpu_metrics);
        auto cpu_nets = cpu->modules(), gpu_nets = gpu->modules();
        REQUIRE(cpu_nets.size() == gpu_nets.size());
        StateDiff diff;
        for (size_t i = 0; i < cpu_nets.size(); ++i)
            compare_state(cpu_nets[i].first, *cpu_nets[i].second, *gpu_nets[i].second, diff);
        INFO(diff.loose, " of ", diff.elements, " parameter and buffer elements differ beyond 1e-5 + 1e-4|p|");
        CHECK(double(diff.loose) <= 1e-3 * double(diff.elements));
    }
}

TEST_CASE("cuda models: samples come back to the CPU, finite, in the model's range") {
    for (const models::ModelInfo& info : models_under_test()) {
        INFO("model ", info.name);
        auto gpu = build(info, Device::CUDA);
        auto* sampler = models::as<models::Sampler>(*gpu);
        if (!sampler) continue;  // the classifier has nothing to draw
        Tensor s = sampler->sample(4);
        CHECK(s.device() == Device::CPU);
        for (double v : s.to(DType::Float64).to_vector<double>()) REQUIRE(std::isfinite(v));
    }
}

TEST_CASE("cuda data loader: batches uploaded on the worker thread equal the CPU batches") {
    manual_seed(2);
    Tensor images = randint(0, 256, {100, 1, 28, 28}).to(DType::UInt8);
    Tensor labels = randint(0, 10, {100});
    data::LoaderOptions cpu_options{.batch_size = 32, .seed = 4};
    data::LoaderOptions gpu_options = cpu_options;
    gpu_options.device = Device::CUDA;
    data::DataLoader cpu_loader(images, labels, cpu_options), gpu_loader(images, labels, gpu_options);
    int64_t batches = 0;
    while (auto a = cpu_loader.next()) {
        auto b = gpu_loader.next();
        REQUIRE(b.has_value());
        CHECK(b->images.device() == Device::CUDA);
        CHECK(b->labels.device() == Device::CUDA);
        CHECK(a->images.to_vector<uint8_t>() == b->images.to(Device::CPU).to_vector<uint8_t>());
        CHECK(a->labels.to_vector<int64_t>() == b->labels.to(Device::CPU).to_vector<int64_t>());
        ++batches;
    }
    CHECK(batches == 4);
    CHECK(!gpu_loader.next().has_value());
}

}  // namespace
}  // namespace mg::kernels::gpu_test
