// The receptive field computed by autograd (models/receptive_field.h) and the causality
// monitor built on it (models/health.h): a correct PixelCNN's field is the one its masks
// define, mask-b-first's adds the pixel itself, and the monitor tells the two apart for every
// autoregressive image model, changing nothing in the model.
#include <set>

#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/health.h"
#include "models/receptive_field.h"
#include "models/registry.h"

using namespace mg;

namespace {

// A tiny grey pixelcnn: a 3x3 mask-A layer and one 3x3 mask-B layer of 8 channels.
std::unique_ptr<models::Model> tiny_pixelcnn(models::Bug bug = models::Bug::None) {
    models::ModelConfig c;
    c.seed = 3;
    c.bug = bug;
    c.options = {{"width", 8}, {"layers", 1}, {"kernel", 3}};
    return models::find_model("pixelcnn").create(c);
}

// The (row, col) offsets from the predicted pixel where `field` [1, H, W] is nonzero.
std::set<std::pair<int64_t, int64_t>> support(const Tensor& field, int64_t row, int64_t col) {
    std::set<std::pair<int64_t, int64_t>> s;
    const std::vector<float> f = field.to_vector<float>();
    const int64_t w = field.size(2);
    for (int64_t i = 0; i < field.size(1); ++i)
        for (int64_t j = 0; j < w; ++j)
            if (f[size_t(i * w + j)] != 0) s.insert({i - row, j - col});
    return s;
}

// The field two 3x3 masked layers give, by hand: the sums of a mask-A offset (the row above,
// and the pixel to the left) and a mask-B offset (the same and the pixel itself).
std::set<std::pair<int64_t, int64_t>> masked_field(bool first_sees_itself) {
    std::vector<std::pair<int64_t, int64_t>> a = {{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}};
    std::vector<std::pair<int64_t, int64_t>> b = a;
    b.push_back({0, 0});
    if (first_sees_itself) a.push_back({0, 0});
    std::set<std::pair<int64_t, int64_t>> s;
    for (auto [i1, j1] : a)
        for (auto [i2, j2] : b) s.insert({i1 + i2, j1 + j2});
    return s;
}

}  // namespace

TEST_CASE("receptive field: a two-layer pixelcnn's field is the one its masks define; mask-b-first adds the pixel") {
    manual_seed(9);
    const Tensor image = rand({1, 8, 8});
    for (const bool leaky : {false, true}) {
        CAPTURE(leaky);
        auto model = tiny_pixelcnn(leaky ? models::Bug::MaskBFirst : models::Bug::None);
        const Tensor field = models::receptive_field(*model, image, {0, 4, 4});
        CHECK(field.shape() == Shape{1, 8, 8});
        CHECK(support(field, 4, 4) == masked_field(leaky));
    }
    CHECK(masked_field(false).count({0, 0}) == 0);
    CHECK(masked_field(true).count({0, 0}) == 1);
    auto model = tiny_pixelcnn();
    CHECK(test::contains(test::error_of([&] { models::receptive_field(*model, image, {0, 8, 0}); }), "outside the image"));
    auto gan = models::find_model("gan2d").create(models::ModelConfig{});
    CHECK(test::contains(test::error_of([&] { models::receptive_field(*gan, image, {0, 1, 1}); }), "receptive_field"));
}

TEST_CASE("causality monitor: fires on mask-b-first naming the pixel, not on the correct net; the model is unchanged") {
    auto correct = tiny_pixelcnn();
    auto leaky = tiny_pixelcnn(models::Bug::MaskBFirst);
    const std::vector<double> before = [&] {
        std::vector<double> v;
        for (Tensor& p : correct->modules()[0].second->parameters())
            for (double x : p.to_vector<double>()) v.push_back(x);
        return v;
    }();
    manual_seed(77);
    const GeneratorState rng = default_generator().state();
    CHECK_FALSE(models::check_causality(*correct, Shape{4, 1, 10, 10}, 1).has_value());
    const auto event = models::check_causality(*leaky, Shape{4, 1, 10, 10}, 1);
    REQUIRE(event.has_value());
    CHECK(event->monitor == "causality");
    CHECK(event->step == 1);
    CHECK(event->message == "pixel (5, 5)'s prediction depends on input pixel (5, 5): the mask leaks "
                            "(see docs/failure-modes.md#mask-b-first)");
    // Nothing moved: the random stream, the weights and their gradients, the training mode.
    CHECK(default_generator().state().offset == rng.offset);
    std::vector<double> after;
    for (Tensor& p : correct->modules()[0].second->parameters()) {
        CHECK_FALSE(p.grad().defined());
        for (double x : p.to_vector<double>()) after.push_back(x);
    }
    CHECK(after == before);
    CHECK(correct->modules()[0].second->is_training());
    // Models without per-pixel logits are not checked.
    auto gan = models::find_model("gan2d").create(models::ModelConfig{});
    CHECK_FALSE(models::check_causality(*gan, Shape{4, 2}, 1).has_value());
}

TEST_CASE("causality monitor: every autoregressive image model is causal, grey and colour (R, G, B within a pixel)") {
    auto make = [](const std::string& name, nlohmann::json options) {
        models::ModelConfig c;
        c.seed = 5;
        c.options = std::move(options);
        return models::find_model(name).create(c);
    };
    const nlohmann::json gated = {{"width", 6}, {"layers", 2}, {"first_kernel", 3}, {"head_channels", 6}};
    const nlohmann::json rgb = {{"data", "npy:/nonexistent/rgb.npy"}, {"image_size", 8}, {"channels", 3}};
    struct Case {
        std::string model;
        nlohmann::json options;
        Shape shape;
    };
    std::vector<Case> cases = {
        {"pixelcnn", {{"width", 6}, {"layers", 2}, {"kernel", 3}}, {2, 1, 9, 9}},
        {"gated-pixelcnn", gated, {2, 1, 9, 9}},
        {"gated-pixelcnn-cond", gated, {2, 1, 9, 9}},
        {"row-lstm", {{"width", 4}, {"hidden", 4}, {"layers", 1}, {"head_channels", 4}}, {2, 1, 7, 7}},
        {"diagonal-bilstm", {{"width", 4}, {"hidden", 4}, {"layers", 1}, {"head_channels", 4}}, {2, 1, 7, 7}},
        {"pixelcnn", {{"width", 12}, {"layers", 2}, {"kernel", 3}}, {2, 3, 8, 8}},
        {"gated-pixelcnn", gated, {2, 3, 8, 8}},
    };
    for (Case& c : cases) {
        if (c.shape[1] == 3) c.options.update(rgb);
        CAPTURE(c.model);
        CAPTURE(c.shape[1]);
        auto model = make(c.model, c.options);
        REQUIRE(models::as<models::PixelLogits>(*model) != nullptr);
        CHECK_FALSE(models::check_causality(*model, c.shape, 1).has_value());
    }
    // Colour: B's logits see R and G of their own pixel, R's none of it; mask-b-first lets R see R.
    nlohmann::json options = {{"width", 12}, {"layers", 2}, {"kernel", 3}};
    options.update(rgb);
    auto colour = make("pixelcnn", options);
    manual_seed(2);
    const Tensor image = rand({3, 8, 8});
    const std::vector<Tensor> fields = models::receptive_fields(*colour, image, {{0, 4, 4}, {2, 4, 4}});
    auto at = [](const Tensor& f, int64_t c) { return f.to_vector<float>()[size_t((c * 8 + 4) * 8 + 4)]; };
    CHECK((at(fields[0], 0) == 0 && at(fields[0], 1) == 0 && at(fields[0], 2) == 0));
    CHECK((at(fields[1], 0) > 0 && at(fields[1], 1) > 0 && at(fields[1], 2) == 0));
    models::ModelConfig c;
    c.seed = 5;
    c.options = options;
    c.bug = models::Bug::MaskBFirst;
    const auto event = models::check_causality(*models::find_model("pixelcnn").create(c), Shape{2, 3, 8, 8}, 1);
    REQUIRE(event.has_value());
    CHECK(test::contains(event->message, "pixel (4, 4) R's prediction depends on input pixel (4, 4) R"));
}
