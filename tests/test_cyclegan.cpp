// CycleGAN: the ResNet generator's shapes and instance norm, the image pool (fills first, then
// swaps with p = 0.5, seeded), steps on a tiny unpaired set that lower the cycle loss, a
// resumed run bit for bit the same as an uninterrupted one (the pools are checkpointed), the
// sample grid's rows, and the refusals of data whose sides differ.
#include <cmath>

#include "core/data/random_stream.h"
#include "core/data/transforms.h"
#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/gan/cyclegan_networks.h"
#include "models/gan/image_pool.h"
#include "models/eval/translation.h"
#include "models/image_data.h"
#include "models/paired_data.h"
#include "models/registry.h"
#include "models/trainer.h"

using namespace mg;

namespace {

std::unique_ptr<models::Model> small_cyclegan(nlohmann::json extra = nlohmann::json::object()) {
    models::ModelConfig config;
    config.seed = 5;
    config.options = {{"data", "edges:fashion-mnist"}, {"width", 4}, {"blocks", 1}, {"batch_size", 4}};
    config.options.update(extra);
    return models::find_model("cyclegan").create(config);
}

// The A side of held-out Fashion-MNIST edge pairs [first, first + n), stacked as the loader gives them.
data::Batch held_out_batch(models::Model& model, int64_t first, int64_t n) {
    static const models::ImageData pairs = models::load_image_data(model.data_spec(), models::ImageSplit::Test);
    data::Batch batch;
    batch.images = data::to_float(pairs.images.slice(0, first, first + n).contiguous(), data::PixelRange::MinusOneOne);
    return batch;
}

// Every tensor of every module of two models is the same, bit for bit.
void check_same_state(models::Model& x, models::Model& y) {
    auto xm = x.modules(), ym = y.modules();
    REQUIRE(xm.size() == ym.size());
    for (size_t i = 0; i < xm.size(); ++i) {
        const nn::StateDict a = xm[i].second->state_dict(), b = ym[i].second->state_dict();
        REQUIRE(a.size() == b.size());
        for (const auto& [name, t] : a) {
            CAPTURE(xm[i].first + "." + name);
            const Tensor diff = abs(sub(t.to(DType::Float64), b.at(name).to(DType::Float64)));
            CHECK(amax(diff).item() == 0.0);
        }
    }
}

}  // namespace

TEST_CASE("cyclegan: the ResNet generator keeps the image's shape; its instance norm normalises each plane") {
    manual_seed(2);
    for (int64_t size : {28, 32}) {
        CAPTURE(size);
        models::ResnetGenerator g(3, 4, 2, size);
        Tensor x = rand({2, 3, size, size}, {DType::Float32}, -1.0, 1.0);
        Tensor y = g(x);
        CHECK(y.shape() == Shape{2, 3, size, size});
        CHECK(amax(abs(y)).item() < 1.0);
        // After the first conv and its instance norm, every (image, channel) plane has mean 0, variance 1.
        Tensor h = (*(*g.net)[1])((*(*g.net)[0])(x));
        CHECK(amax(abs(mean(h, {2, 3}))).item() < 1e-5);
        CHECK(amax(abs(sub(var(h, {2, 3}, /*correction=*/0), 1.0))).item() < 1e-3);
    }
    CHECK_THROWS_WITH_AS(models::ResnetGenerator(3, 4, 2, 30),
                         doctest::Contains("image size 30 must be a multiple of 4"), Error);
    CHECK_THROWS_WITH_AS(models::ResnetGenerator(3, 4, 2, 32)(full({1, 1, 32, 32}, 0.0)),
                         doctest::Contains("expected input [B, 3, 32, 32], got [1, 1, 32, 32]"), Error);
}

TEST_CASE("cyclegan: the image pool fills first, then returns a stored image with p = 0.5 and keeps the new one") {
    constexpr int64_t kCapacity = 3;
    models::ImagePool pool(kCapacity, 1, 2);
    // Image k is 2x2 of the value k: which image came back is readable from its first value.
    auto images = [](int64_t first, int64_t n) {
        const Tensor k = arange(0, double(n)).to(DType::Float32).view({n, 1, 1, 1});
        return add(k.expand({n, 1, 2, 2}), double(first)).contiguous();
    };
    data::RandomStream rng(11, 0);
    Tensor out = pool.query(images(0, 2), rng);
    CHECK(amax(abs(sub(out, images(0, 2)))).item() == 0.0);  // filling: the fakes themselves
    CHECK(pool.stored() == 2);

    // The reference: the rule of image_pool.h on plain numbers, with the same draws.
    std::vector<double> stored = {0, 1};
    data::RandomStream ref_rng(11, 0);
    const int64_t n = 400;
    out = pool.query(images(100, n), rng);
    int64_t from_pool = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double fake = 100.0 + double(i);
        double expect = fake;
        if (int64_t(stored.size()) < kCapacity) {
            stored.push_back(fake);
        } else if (ref_rng.uniform() < 0.5) {
            const size_t j = size_t(ref_rng.below(kCapacity));
            expect = stored[j];
            stored[j] = fake;
            ++from_pool;
        }
        CAPTURE(i);
        REQUIRE(out.select(0, i).select(0, 0).select(0, 0).select(0, 1).item() == expect);
    }
    CHECK(pool.stored() == kCapacity);
    CHECK(from_pool > 150);  // about half of the 397 draws: 198.5 +- 10
    CHECK(from_pool < 250);
    // What the pool holds is what the reference holds, and it is in its state_dict.
    const nn::StateDict sd = pool.state_dict();
    REQUIRE(sd.contains("images"));
    REQUIRE(sd.contains("count"));
    for (int64_t j = 0; j < kCapacity; ++j)
        CHECK(sd.at("images").select(0, j).select(0, 0).select(0, 0).select(0, 0).item() == stored[size_t(j)]);

    models::ImagePool none(0, 1, 2);  // capacity 0: no history
    CHECK(amax(abs(sub(none.query(images(7, 4), rng), images(7, 4)))).item() == 0.0);
    CHECK_THROWS_WITH_AS(pool.query(full({1, 3, 2, 2}, 0.0), rng), doctest::Contains("do not fit images of [1, 2, 2]"),
                         Error);
}

TEST_CASE("cyclegan: steps on a tiny unpaired set (Fashion-MNIST edges <-> garments) lower the cycle loss") {
    auto model = small_cyclegan({{"lr", 2e-3}});
    const data::Batch batch = held_out_batch(*model, 0, 4);
    double first = 0, last = 0;
    for (int step = 0; step < 16; ++step) {
        models::Metrics m = model->train_step(batch);
        const double cycle = test::metric(m, "cycle_a") + test::metric(m, "cycle_b");
        if (step < 2) first += cycle;
        if (step >= 14) last += cycle;
        CHECK(std::isfinite(test::metric(m, "loss_d")));
        CHECK(std::isfinite(test::metric(m, "identity")));
    }
    CHECK(last < 0.7 * first);
    auto& translation = models::require<models::Translation>(*model, "test");
    CHECK(translation.translate(batch.images.slice(1, 0, 1).contiguous()).shape() == Shape{4, 1, 28, 28});
    CHECK_THROWS_WITH_AS(translation.translate(batch.images), doctest::Contains("do not fit the model"), Error);
    // The grid: A, G(A), F(G(A)), B, F(B), G(F(B)), 8 images a row; A and B the held-out pairs.
    Tensor grid = models::require<models::Sampler>(*model, "test").sample(48);
    REQUIRE(grid.shape() == Shape{48, 1, 28, 28});
    const Tensor first_pairs = held_out_batch(*model, 0, 8).images;
    CHECK(amax(abs(sub(grid.slice(0, 0, 8), first_pairs.slice(1, 0, 1)))).item() == 0.0);
    CHECK(amax(abs(sub(grid.slice(0, 24, 32), first_pairs.slice(1, 1, 2)))).item() == 0.0);
    CHECK(amax(abs(sub(grid.slice(0, 8, 16), translation.translate(first_pairs.slice(1, 0, 1).contiguous()))))
              .item() == 0.0);
}

TEST_CASE("cyclegan: a run resumed from a checkpoint is bit for bit the uninterrupted one (pools included)") {
    const nlohmann::json options = {{"pool_size", 3}, {"batch_size", 2}};
    auto whole = small_cyclegan(options), first_half = small_cyclegan(options);
    std::vector<data::Batch> batches;
    for (int64_t i = 0; i < 4; ++i) batches.push_back(held_out_batch(*whole, 2 * i, 2));
    for (const data::Batch& b : batches) whole->train_step(b);
    first_half->train_step(batches[0]);
    first_half->train_step(batches[1]);
    test::TempDir dir("cyclegan");
    models::save_model_checkpoint(*first_half, dir / "checkpoint.safetensors", 2, 0, 2);
    auto resumed = small_cyclegan(options);
    const models::Position pos = models::load_model_checkpoint(*resumed, dir / "checkpoint.safetensors", true);
    REQUIRE(pos.step == 2);
    resumed->set_step(pos.step);
    resumed->train_step(batches[2]);
    resumed->train_step(batches[3]);
    check_same_state(*whole, *resumed);
    // The pools filled (3 of 2 x 2 fakes) and then swapped: their state was worth saving.
    const nn::StateDict pool = whole->modules()[5].second->state_dict();
    CHECK(pool.at("count").item() == 3);
}

TEST_CASE("cyclegan: eval scores G(a) against the true b, and FID/KID against the training B beside the floor") {
    auto model = small_cyclegan();
    eval::EvalOptions options;
    options.samples = 50;
    options.progress = false;
    const nlohmann::json j =
        eval::evaluate_translation(*model, models::require<models::Translation>(*model, "test"), options);
    CHECK(j["test_images"] == 50);
    CHECK(j["training_targets"] == 10000);  // of Fashion-MNIST's 60,000
    CHECK(j["kid_subset_size"] == 50);
    // Held-out garments are close to the training garments; an untrained G's noise is not.
    CHECK(j["fid_floor"].get<double>() > 0);
    CHECK(j["fid"].get<double>() > 5 * j["fid_floor"].get<double>());
    CHECK(j["kid"].get<double>() > j["kid_floor"].get<double>() + 3 * j["kid_std"].get<double>());
    CHECK(j["target_class_accuracy"].get<double>() > 0.8);
    options.floors = false;  // --no-floors: no distribution scores
    CHECK(!eval::evaluate_translation(*model, models::require<models::Translation>(*model, "test"), options)
               .contains("fid"));
}

TEST_CASE("cyclegan: data whose two sides differ, sizes it cannot downsample and bad weights are refused") {
    CHECK_THROWS_WITH_AS(small_cyclegan({{"data", "edges:emoji"}}),
                         doctest::Contains("gives A images of 1 channel(s) and B images of 3"), Error);
    CHECK_THROWS_WITH_AS(small_cyclegan({{"data", "fashion-mnist"}}),
                         doctest::Contains("is not a paired data set"), Error);
    CHECK_THROWS_WITH_AS(small_cyclegan({{"lambda_cycle", -1}}), doctest::Contains("'lambda_cycle' -1"), Error);
    CHECK_THROWS_WITH_AS(small_cyclegan({{"loss", "wasserstein"}}), doctest::Contains("needs a gradient penalty"),
                         Error);
}
