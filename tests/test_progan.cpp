// progan: the networks' shapes at every level, the fade-in's ends against the old and new
// paths, minibatch stddev against a hand computation, the equalized layers' gradients
// (gradcheck, float64), the growth schedule, a few steps that lower D's loss, and a resume in
// the middle of a fade that continues bit for bit.
#include <cmath>

#include "core/gradcheck.h"
#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/gan/adversarial.h"
#include "models/gan/progan_networks.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;
using models::GrowthPoint;

namespace {

std::unique_ptr<models::Model> tiny_progan(nlohmann::json extra = nlohmann::json::object(), uint64_t seed = 4) {
    models::ModelConfig config;
    config.seed = seed;
    config.options = {{"data", "npy:unused.npy"}, {"image_size", 16}, {"width", 8}, {"z_dim", 8},
                      {"batch_size", 4}, {"fade_images", 8}, {"stable_images", 8}};
    config.options.update(extra);
    return models::find_model("progan").create(config);
}

// Eight 16x16 RGB images in [-1, 1]: smooth colour ramps, one phase per image.
data::Batch ramps(int64_t n = 4, int64_t offset = 0) {
    std::vector<float> v;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t y = 0; y < 16; ++y)
                for (int64_t x = 0; x < 16; ++x)
                    v.push_back(float(std::sin(0.4 * double(x + 2 * y) + double(c) + 0.7 * double(i + offset))));
    data::Batch b;
    b.images = from_vector(v, Shape{n, 3, 16, 16});
    return b;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}

}  // namespace

TEST_CASE("progan: G and D shapes at every level, stable and fading") {
    manual_seed(1);
    const std::vector<int64_t> channels = models::progan_channels(8, 4);  // 4, 8, 16, 32
    CHECK(channels == std::vector<int64_t>{8, 8, 8, 8});
    CHECK(models::progan_channels(64, 5) == std::vector<int64_t>{64, 64, 64, 32, 16});
    models::ProGenerator g(8, channels, 3);
    models::ProDiscriminator d(channels, 3, 4);
    Tensor z = randn({4, 8});
    for (int64_t level = 0; level < 4; ++level)
        for (double alpha : {0.0, 0.5, 1.0}) {
            CAPTURE(level);
            CAPTURE(alpha);
            const int64_t size = int64_t(4) << level;
            Tensor image = g.forward(z, {level, alpha});
            CHECK(image.shape() == Shape{4, 3, size, size});
            CHECK(d.forward(image, {level, alpha}).shape() == Shape{4, 1});
        }
    CHECK_THROWS_WITH_AS(d.forward(randn({4, 3, 8, 8}), {2, 1.0}), doctest::Contains("level 2 takes [N, C, 16, 16]"),
                         Error);
    CHECK_THROWS_WITH_AS(g.forward(z, {4, 1.0}), doctest::Contains("level 4 outside"), Error);
}

TEST_CASE("progan: alpha 0 is exactly the old path, alpha 1 exactly the new one") {
    manual_seed(2);
    const std::vector<int64_t> channels = models::progan_channels(8, 3);
    models::ProGenerator g(8, channels, 3);
    models::ProDiscriminator d(channels, 3, 2);
    Tensor z = randn({4, 8});
    for (int64_t level = 1; level < 3; ++level) {
        CAPTURE(level);
        // G: the new level at alpha 0 is the previous level's image, upsampled.
        Tensor old_image = g.forward(z, {level - 1, 1.0});
        CHECK(same_bits(g.forward(z, {level, 0.0}), models::upsample_nearest(old_image, 2)));
        // Alpha 1 is the new path; a hair below it is close to it but not it.
        Tensor fresh = g.forward(z, {level, 1.0});
        Tensor almost = g.forward(z, {level, 0.999});
        CHECK(!same_bits(almost, fresh));
        test::check_close(almost, fresh, 0, 0.01 * amax(abs(fresh)).item());
        // D: at alpha 0 the new level's input, average-pooled, is what the old level sees.
        Tensor x = randn({4, 3, int64_t(4) << level, int64_t(4) << level});
        CHECK(same_bits(d.forward(x, {level, 0.0}), d.forward(models::downsample_average(x, 2), {level - 1, 1.0})));
    }
    // The last level at alpha 1 is the whole network's plain forward.
    CHECK(same_bits(g.forward(z, {2, 1.0}), g.forward(z)));
    Tensor a = randn({2, 3}), b = randn({2, 3});
    CHECK(models::fade_in(a, b, 0.0).is_same(a));
    CHECK(models::fade_in(a, b, 1.0).is_same(b));
    test::check_close(models::fade_in(a, b, 0.25), a * 0.75 + b * 0.25);
}

TEST_CASE("progan: minibatch stddev against a hand computation") {
    // x [4, 2, 1, 1]; group size 2: sample i is in group i % 2, so the groups are {0, 2} and {1, 3}.
    // Group {0, 2}: features (1, 3) and (5, -1): stddevs |1-5|/2 = 2 and |3+1|/2 = 2 -> mean 2.
    // Group {1, 3}: features (2, 0) and (2, 6): stddevs 0 and 3 -> mean 1.5 (0 is sqrt(1e-8) = 1e-4).
    Tensor x = from_vector(std::vector<double>{1, 3, 2, 0, 5, -1, 2, 6}, Shape{4, 2, 1, 1});
    Tensor y = models::minibatch_stddev(x, 2);
    REQUIRE(y.shape() == Shape{4, 3, 1, 1});
    const std::vector<double> v = y.to_vector<double>();
    const double g0 = (std::sqrt(4 + 1e-8) + std::sqrt(4 + 1e-8)) / 2, g1 = (std::sqrt(1e-8) + std::sqrt(9 + 1e-8)) / 2;
    CHECK(v[2] == doctest::Approx(g0).epsilon(1e-12));
    CHECK(v[5] == doctest::Approx(g1).epsilon(1e-12));
    CHECK(v[8] == doctest::Approx(g0).epsilon(1e-12));
    CHECK(v[11] == doctest::Approx(g1).epsilon(1e-12));
    CHECK(v[0] == 1);  // the features themselves pass through
    CHECK(v[10] == 6);
    // A group of the whole batch: one value for all; and its gradient by central differences.
    Tensor all = models::minibatch_stddev(x, 8);
    CHECK(all.to_vector<double>()[2] == doctest::Approx(all.to_vector<double>()[11]));
    Tensor xg = randn({4, 2, 3, 3}, {DType::Float64});
    xg.requires_grad_();
    GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return models::minibatch_stddev(in[0], 2); }, {xg});
    CHECK_MESSAGE(r.ok, r.message);
    CHECK_THROWS_WITH_AS(models::minibatch_stddev(randn({6, 2, 1, 1}), 4), doctest::Contains("groups of 4"), Error);
}

TEST_CASE("progan: equalized layers draw N(0, 1), scale by He's constant, and pass gradcheck") {
    manual_seed(3);
    models::EqualizedConv2d conv(3, 4, 3, 0.2);
    CHECK(conv.scale == doctest::Approx(std::sqrt(2.0 / 27)));
    const std::vector<float> w = conv.weight.to_vector<float>();
    double s2 = 0;
    for (float x : w) s2 += double(x) * x;
    CHECK(std::sqrt(s2 / double(w.size())) == doctest::Approx(1.0).epsilon(0.25));  // 108 draws of N(0, 1)
    conv.to(DType::Float64);
    Tensor x = randn({2, 3, 5, 5}, {DType::Float64}), bias = randn({4}, {DType::Float64});
    x.requires_grad_();
    {
        autograd::NoGradGuard no_grad;
        conv.bias.copy_(bias);  // a nonzero bias, so LeakyReLU's both sides are exercised
    }
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>&) { return conv.forward(x); },
                                  {x, conv.weight, conv.bias});
    CHECK_MESSAGE(r.ok, r.message);
    // The stored weight's gradient is scale times the gradient of the weight the conv uses.
    Tensor used = (conv.weight * conv.scale).detach().requires_grad_();
    Conv2dOptions o;
    o.padding = 1;
    sum(bias_leaky_relu(conv2d(x.detach(), used, {}, o), conv.bias.detach(), 0.2)).backward();
    conv.weight.zero_grad();
    sum(conv.forward(x.detach())).backward();
    test::check_close(conv.weight.grad(), used.grad() * conv.scale, 1e-12, 1e-12);

    models::EqualizedLinear dense(5, 3, -1.0, 1.0);
    CHECK(dense.scale == doctest::Approx(1 / std::sqrt(5.0)));
    dense.to(DType::Float64);
    Tensor v = randn({4, 5}, {DType::Float64});
    v.requires_grad_();
    r = gradcheck([&](const std::vector<Tensor>&) { return dense.forward(v); }, {v, dense.weight, dense.bias});
    CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("progan: the schedule's phases, levels and alpha follow from the step") {
    models::GrowthSchedule s;
    s.start_level = 0, s.final_level = 2, s.fade_images = 8, s.stable_images = 4, s.batch_size = 2;
    auto at = [&](int64_t step) { return s.at(step); };
    CHECK(at(0).at.level == 0);
    CHECK(at(1).at.alpha == 1.0);
    CHECK(at(2).index == 1);  // 4 images seen: the 8x8 fade begins at exactly 0
    CHECK(at(2).at.level == 1);
    CHECK(at(2).at.alpha == 0.0);
    CHECK(at(3).at.alpha == 0.25);
    CHECK(at(5).at.alpha == 0.75);
    CHECK(at(6).index == 2);
    CHECK(at(6).at.alpha == 1.0);
    CHECK(at(8).index == 3);
    CHECK(at(8).resolution() == 16);
    CHECK(at(8).fading());
    CHECK(at(12).index == 4);
    CHECK(at(1000000).index == 4);
    CHECK(at(1000000).at.level == 2);
    CHECK(!at(1000000).fading());
}

TEST_CASE("progan: bad schedules are refused naming the option") {
    CHECK_THROWS_WITH_AS(tiny_progan({{"image_size", 28}}), doctest::Contains("'image_size' 28"), Error);
    CHECK_THROWS_WITH_AS(tiny_progan({{"final_resolution", 32}}),
                         doctest::Contains("'final_resolution' 32 does not reach the data's 16x16"), Error);
    CHECK_THROWS_WITH_AS(tiny_progan({{"start_resolution", 32}}), doctest::Contains("'start_resolution' 32"), Error);
    CHECK_THROWS_WITH_AS(tiny_progan({{"group_size", 3}}), doctest::Contains("'group_size' 3 does not divide"), Error);
}

TEST_CASE("progan: a few steps at one level lower D's loss, and report resolution and alpha") {
    auto model = tiny_progan({{"stable_images", 1000000}, {"start_resolution", 8}});
    std::vector<double> losses;
    for (int i = 0; i < 36; ++i) {
        models::Metrics m = model->train_step(ramps(4, i % 2));
        losses.push_back(test::metric(m, "loss_d"));
        CHECK(test::metric(m, "resolution") == 8);
        CHECK(test::metric(m, "alpha") == 1);
    }
    // WGAN-GP's loss is noisy step to step: compare the first six steps' mean with the last six's.
    double first = 0, last = 0;
    for (int i = 0; i < 6; ++i) first += losses[size_t(i)] / 6, last += losses[losses.size() - 1 - size_t(i)] / 6;
    CAPTURE(first);
    CAPTURE(last);
    CHECK(last < first - 0.5);
    // Samples come at the data's size whatever the level.
    CHECK(dynamic_cast<models::Sampler&>(*model).sample(3).shape() == Shape{3, 3, 16, 16});
}

TEST_CASE("progan: a resume in the middle of a fade continues bit for bit") {
    const test::TempDir dir("progan");
    // batch 4, fade 8, stable 8: steps 0-1 stable 4x4, 2-3 fade to 8x8, 4-5 stable, 6-7 fade to 16x16.
    auto straight = tiny_progan();
    for (int64_t s = 0; s < 8; ++s) straight->train_step(ramps(4, s));
    auto first = tiny_progan();
    for (int64_t s = 0; s < 7; ++s) first->train_step(ramps(4, s));  // stops at 16x16, alpha 0.5
    const std::string path = dir / "mid.safetensors";
    models::save_model_checkpoint(*first, path, 7, 0, 7);
    auto resumed = tiny_progan(nlohmann::json::object(), 99);  // other weights until the load
    const models::Position at = models::load_model_checkpoint(*resumed, path, /*with_optimizers=*/true);
    CHECK(at.step == 7);
    resumed->set_step(at.step);  // as the trainer does
    models::Metrics m = resumed->train_step(ramps(4, 7));
    CHECK(test::metric(m, "resolution") == 16);
    CHECK(test::metric(m, "alpha") == 0.5);
    for (const char* net : {"G", "D"}) {
        auto find = [&](models::Model& model) {
            for (auto& [name, module] : model.modules())
                if (name == net) return module->state_dict();
            return nn::StateDict{};
        };
        nn::StateDict a = find(*straight), b = find(*resumed);
        REQUIRE(a.size() == b.size());
        for (const auto& [name, t] : a) {
            CAPTURE(name);
            CHECK(same_bits(t, b.at(name)));
        }
    }
}
