// Post-training int8 quantization (models/quantize/): calibration ranges and scales against
// hand computations, int8 samples against float32, and the quantized checkpoint's round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "core/io/checkpoint.h"
#include "core/nn/nn.h"
#include "core/random.h"
#include "helpers.h"
#include "kernels/lowp.h"
#include "models/capabilities.h"
#include "models/quantize/quantize.h"
#include "models/quantize/quantized_checkpoint.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;
namespace Q = mg::models::quantize;

namespace {

std::unique_ptr<models::Model> small_model(const std::string& name) {
    models::ModelConfig config;
    config.options = name == "vae" ? nlohmann::json{{"hidden", 64}, {"latent_dim", 8}} : nlohmann::json{{"width", 16}};
    return models::find_model(name).create(config);
}

// ||a - b|| / ||a||
double relative_error(const Tensor& a, const Tensor& b) {
    const std::vector<float> x = a.contiguous().to_vector<float>(), y = b.contiguous().to_vector<float>();
    REQUIRE(x.size() == y.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) num += double(x[i] - y[i]) * (x[i] - y[i]), den += double(x[i]) * x[i];
    return std::sqrt(num / den);
}

Tensor samples_with_seed(models::Model& model, uint64_t seed, int64_t n) {
    manual_seed(seed);
    return models::require<models::Sampler>(model, "test").sample(n);
}

// The model's quantization, recorded into a checkpoint of its float state, as `minigen quantize` writes it.
void save_quantized(models::Model& model, const std::vector<Q::LayerQuant>& layers, const std::string& path) {
    models::save_model_checkpoint(model, path, 1, 0, 0);
    io::Checkpoint ck = io::load_checkpoint(path);
    Q::record_quantization(ck, model.name(), layers, {{"method", "minmax"}});
    io::save_checkpoint(path, ck);
}

}  // namespace

TEST_CASE("quantize: calibration ranges are the hand-computed min/max and mean per-batch percentiles") {
    const std::vector<float> b1 = {-3, -1, 0, 2, 10}, b2 = {-5, 1, 4};
    Q::CalibOptions minmax;
    Q::RangeRecorder r(minmax);
    r.add(b1.data(), 5), r.add(b2.data(), 3);
    CHECK(r.range().lo == -5.f);
    CHECK(r.range().hi == 10.f);
    // P = 80: batch 1's |x| sorted 0 1 2 3 10, rank ceil(4) = 4 -> 3: [-3, 3];
    // batch 2's 1 4 5, rank ceil(2.4) = 3 -> 5: [max(-5, -5), min(4, 5)] = [-5, 4]; the mean [-4, 3.5].
    Q::CalibOptions pct;
    pct.method = Q::CalibMethod::Percentile, pct.percentile = 80;
    Q::RangeRecorder p(pct);
    p.add(b1.data(), 5), p.add(b2.data(), 3);
    CHECK(p.range().lo == -4.f);
    CHECK(p.range().hi == 3.5f);
    const std::vector<float> bad = {1, NAN};
    CHECK(test::error_of([&] { p.add(bad.data(), 2); }).find("not finite") != std::string::npos);
}

TEST_CASE("quantize: activation scale and zero point, per-channel weight scales (ConvTranspose2d: axis 1)") {
    Q::ActivationQuant a = Q::activation_quant(-1.f, 3.f);  // scale 4/255, zero point round(63.75)
    CHECK(a.scale == 4.f / 255.f);
    CHECK(a.zero_point == 64);
    a = Q::activation_quant(0.5f, 2.f);  // widened to hold 0
    CHECK(a.scale == 2.f / 255.f);
    CHECK(a.zero_point == 0);
    // ConvTranspose2d weight [in 2, out 3, 1, 1]: output channel c is w[:, c].
    const Tensor w = from_vector(std::vector<float>{1, -4, 0.5f, -2, 3, 0.25f}, Shape{2, 3, 1, 1});
    const std::vector<float> s = Q::weight_scales(Q::LayerOp::ConvTranspose2d, w);
    REQUIRE(s.size() == 3);
    CHECK(s[0] == 2.f / 127.f);
    CHECK(s[1] == 4.f / 127.f);
    CHECK(s[2] == 0.5f / 127.f);
    const std::vector<int8_t> q = Q::quantize_weight(Q::LayerOp::ConvTranspose2d, w, s);
    CHECK(q == std::vector<int8_t>{64, -127, 127, -127, 95, 64});  // 1/(2/127) = 63.5 -> 64 (ties to even)
}

TEST_CASE("quantize: dcgan calibration sees G's layers only; G.fc's range is the latents' min and max") {
    auto model = small_model("dcgan");
    Q::CalibOptions o;
    o.batches = 2, o.batch_size = 8;
    manual_seed(11);
    const auto ranges = Q::calibrate(*model, model->modules(), o);
    manual_seed(11);  // sample() draws z ~ randn [8, 100] per batch, nothing else
    const std::vector<float> z = cat({randn({8, 100}), randn({8, 100})}, 0).to_vector<float>();
    REQUIRE(ranges.count("G.fc"));
    CHECK(ranges.at("G.fc").lo == *std::min_element(z.begin(), z.end()));
    CHECK(ranges.at("G.fc").hi == *std::max_element(z.begin(), z.end()));
    REQUIRE(ranges.count("G.net.2"));  // after BatchNorm + ReLU
    CHECK(ranges.at("G.net.2").lo == 0.f);
    for (const auto& [name, r] : ranges) CHECK_MESSAGE(name.rfind("G.", 0) == 0, name);
    for (const auto& [net, m] : model->modules())
        for (auto& [path, layer] : m->named_modules())
            if (auto* l = layer->as<nn::Linear>()) CHECK(l->hook == nullptr);  // calibration took its hooks off
}

TEST_CASE("quantize: int8 samples of dcgan, cgan and the VAE decoder are within 5% of float32, and load back") {
    for (const char* name : {"dcgan", "cgan", "vae"}) {
        CAPTURE(name);
        auto model = small_model(name);
        Q::CalibOptions o;
        o.batches = 4, o.batch_size = 32;
        manual_seed(3);
        const std::vector<Q::LayerQuant> layers = Q::quantize_model(*model, o);
        CHECK(layers.size() == (std::string(name) == "vae" ? 2u : 3u));
        const Tensor reference = samples_with_seed(*model, 5, 32);

        test::TempDir dir("quantize");
        save_quantized(*model, layers, dir / "int8.safetensors");
        auto loaded = small_model(name);
        models::load_model_checkpoint(*loaded, dir / "int8.safetensors", false);
        const Tensor int8 = samples_with_seed(*loaded, 5, 32);
        const double error = relative_error(reference, int8);
        CHECK(error > 0);  // the int8 kernels ran
        CHECK(error < 0.05);
        // A second load gives the same bits: the int8 weights are a function of the file.
        auto again = small_model(name);
        models::load_model_checkpoint(*again, dir / "int8.safetensors", false);
        CHECK(relative_error(int8, samples_with_seed(*again, 5, 32)) == 0);
    }
}

TEST_CASE("quantize: a checkpoint quantized for another model, bad scales, resuming: errors naming the file") {
    auto model = small_model("dcgan");
    Q::CalibOptions o;
    o.batches = 1, o.batch_size = 4;
    const std::vector<Q::LayerQuant> layers = Q::quantize_model(*model, o);
    test::TempDir dir("quantize-bad");
    const std::string path = dir / "int8.safetensors";
    save_quantized(*model, layers, path);
    auto rewrite = [&](auto edit) {
        io::Checkpoint ck = io::load_checkpoint(path);
        edit(ck);
        const std::string bad = dir / "bad.safetensors";
        io::save_checkpoint(bad, ck);
        auto fresh = small_model("dcgan");
        return test::error_of([&] { models::load_model_checkpoint(*fresh, bad, false); });
    };
    auto set_json = [](io::Checkpoint& ck, auto edit) {
        nlohmann::json j = nlohmann::json::parse(ck.metadata[Q::kQuantizationKey]);
        edit(j);
        ck.metadata[Q::kQuantizationKey] = j.dump();
    };
    CHECK(rewrite([&](io::Checkpoint& ck) { set_json(ck, [](nlohmann::json& j) { j["model"] = "cgan"; }); })
              .find("quantized for model 'cgan', not 'dcgan'") != std::string::npos);
    CHECK(rewrite([&](io::Checkpoint& ck) {
              set_json(ck, [](nlohmann::json& j) { j["layers"][0]["name"] = "G.nope"; });
              ck.extra["quant.G.nope.weight_scale"] = ck.extra.at("quant.G.fc.weight_scale");
          }).find("quantized layer 'G.nope' is not a Linear or convolution of model 'dcgan'") != std::string::npos);
    CHECK(rewrite([&](io::Checkpoint& ck) {
              set_json(ck, [](nlohmann::json& j) { j["layers"][1]["op"] = "Linear"; });
          }).find("is a Linear, the model's is a ConvTranspose2d") != std::string::npos);
    CHECK(rewrite([&](io::Checkpoint& ck) {
              set_json(ck, [](nlohmann::json& j) { j["layers"][0]["input_zero_point"] = 300; });
          }).find("input_zero_point must be an integer in 0..255") != std::string::npos);
    CHECK(rewrite([&](io::Checkpoint& ck) { ck.extra.erase("quant.G.fc.weight_scale"); })
              .find("no tensor 'extra.quant.G.fc.weight_scale'") != std::string::npos);
    CHECK(rewrite([&](io::Checkpoint& ck) { ck.extra["quant.G.fc.weight_scale"] = full({3}, 0.1); })
              .find("has 3 weight scales, the model's has") != std::string::npos);
    auto fresh = small_model("dcgan");
    CHECK(test::error_of([&] { models::load_model_checkpoint(*fresh, path, /*with_optimizers=*/true); })
              .find("cannot resume training") != std::string::npos);
    auto pixelcnn = models::find_model("pixelcnn").create({});
    CHECK(test::error_of([&] { Q::quantize_model(*pixelcnn, o); }).find("model 'pixelcnn' has no int8 form yet") !=
          std::string::npos);
}

TEST_CASE("quantize kernel: the vectorized variant gives the reference's bytes (ties, NaN, inf, per channel)") {
    auto& table = kernels::quantize_table();
    std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.f, -0.f};
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.f, 3.f);
    for (int i = 0; i < 1000; ++i) x.push_back(normal(rng));
    for (int i = -300; i <= 300; ++i) x.push_back(float(i) * 0.5f);  // every tie in range and beyond
    const int64_t n = int64_t(x.size());
    for (bool to_signed : {false, true})
        for (int64_t channels : {int64_t(1), int64_t(2)}) {
            CAPTURE(to_signed);
            CAPTURE(channels);
            const std::vector<float> scale = {1.f, 0.37f};
            const std::vector<int32_t> zero_point = {to_signed ? -3 : 128, to_signed ? 5 : 0};
            kernels::QuantizeArgs q;
            q.outer = 1, q.channels = channels, q.inner = n / channels, q.to_signed = to_signed;
            q.scale = scale.data(), q.zero_point = zero_point.data();
            std::vector<uint8_t> ref(x.size()), got(x.size());
            table.get("reference", Device::CPU, DType::Float32)(q, x.data(), ref.data());
            table.get("vectorized", Device::CPU, DType::Float32)(q, x.data(), got.data());
            CHECK(ref == got);
        }
}
