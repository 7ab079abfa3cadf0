// Neural style transfer: the Gram matrix against a hand computation, the losses' zeros, a
// few Gatys steps and a few fast-style training steps lowering the loss.
#include <doctest/doctest.h>

#include "core/ops.h"
#include "core/ops/gram.h"
#include "core/random.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/registry.h"
#include "models/style/fast_style.h"
#include "models/style/gatys.h"
#include "models/style/transform_network.h"

using namespace mg;

namespace {

// Smooth random pictures in [0, 1]: a coarse random image upsampled, so features are not noise.
Tensor picture(int64_t channels, int64_t size, uint64_t seed) {
    manual_seed(seed);
    Tensor coarse = rand({1, channels, size / 4, size / 4});
    return style::upsample_nearest2x(style::upsample_nearest2x(coarse)).contiguous();
}

}  // namespace

TEST_CASE("gram_matrix matches the sum over positions, by hand") {
    // One image, 2 channels, 1x3 positions: F = [[1, 2, 3], [4, 5, 6]].
    Tensor f = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {1, 2, 1, 3});
    // F F^T = [[14, 32], [32, 77]], divided by C*H*W = 6.
    test::check_close(gram_matrix(f), from_vector(std::vector<double>{14 / 6., 32 / 6., 32 / 6., 77 / 6.}, {1, 2, 2}),
                      1e-12, 1e-12);
    // Images of a batch are separate.
    Tensor two = cat({f, mul(f, 2.0)}, 0);
    test::check_close(gram_matrix(two).select(0, 1), mul(gram_matrix(f).select(0, 0), 4.0), 1e-12, 1e-12);
    CHECK_THROWS_WITH_AS(gram_matrix(zeros({2, 3})), doctest::Contains("gram_matrix: expected features [N, C, H, W]"),
                         Error);
}

TEST_CASE("style losses: an image against itself is 0, the content image's content loss is 0") {
    for (const char* kind : {"emoji", "random"}) {
        CAPTURE(kind);
        const style::FeatureNetwork features(style::parse_feature_kind(kind), 3);
        Tensor a = picture(3, 32, 1), b = picture(3, 32, 2);
        const style::StyleLoss loss(features, a, {});
        const style::StyleTerms same = loss(a, loss.content_target(a));
        CHECK(same.style.item() == 0.0);
        CHECK(same.content.item() == 0.0);
        const style::StyleTerms other = loss(b, loss.content_target(a));
        CHECK(other.style.item() > 0.0);
        CHECK(other.content.item() > 0.0);
    }
}

TEST_CASE("fashion features make colour grey and keep grey") {
    const style::FeatureNetwork fashion(style::FeatureKind::Fashion);
    CHECK(fashion.channels() == 1);
    CHECK(fashion.default_size() == 28);
    CHECK(fashion.layers() == 2);  // its two conv blocks
    CHECK(style::FeatureNetwork(style::FeatureKind::Emoji).layers() == 3);
    CHECK(style::FeatureNetwork(style::FeatureKind::Random).layers() == 7);
    Tensor rgb = from_vector(std::vector<float>{1, 0, 0}, {1, 3, 1, 1});
    CHECK(style::fit_channels(rgb, 1).item() == doctest::Approx(0.299));
    CHECK(style::fit_channels(style::fit_channels(rgb, 1), 3).shape() == Shape{1, 3, 1, 1});
}

TEST_CASE("a few Gatys steps lower the total loss") {
    const style::FeatureNetwork features(style::FeatureKind::Emoji);
    Tensor content = picture(3, 32, 4), style_image = picture(3, 32, 5);
    style::GatysOptions o;
    o.steps = 8;
    std::vector<double> losses;
    Tensor out = style::gatys_stylize(features, content, style_image, o,
                                      [&](int64_t, const style::StyleTerms& t) { losses.push_back(t.total.item()); });
    REQUIRE(losses.size() == 8);
    CHECK(losses.back() < 0.8 * losses.front());
    CHECK(out.shape() == content.shape());
    CHECK(amin(out).item() >= 0.0);
    CHECK(amax(out).item() <= 1.0);
}

TEST_CASE("upsample_nearest2x repeats each pixel 2x2") {
    Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2});
    test::check_close(style::upsample_nearest2x(x),
                      from_vector(std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}));
}

TEST_CASE("fast-style: forward keeps the shape, and a few steps on one batch lower the loss") {
    // The default (Fashion-MNIST, grey, the fashion classifier's features) and colour emoji at 32x32.
    for (nlohmann::json data : {nlohmann::json::object(), nlohmann::json{{"data", "emoji"}, {"image_size", 32}}}) {
        CAPTURE(data.dump());
        models::ModelConfig config;
        config.seed = 1;
        config.options = {{"width", 4}, {"residual_blocks", 1}};
        config.options.update(data);
        auto model = models::find_model("fast-style").create(config);
        auto* stylizer = models::as<models::Stylizer>(*model);
        REQUIRE(stylizer != nullptr);
        const int64_t c = stylizer->image_channels(), size = stylizer->image_size();
        CHECK(c == (data.empty() ? 1 : 3));
        CHECK(model->config()["features"] == (data.empty() ? "fashion" : "emoji"));
        data::Batch batch;
        batch.images = cat({picture(c, size, 6), picture(c, size, 7)}, 0);
        Tensor out = stylizer->stylize(batch.images);
        CHECK(out.shape() == Shape{2, c, size, size});
        double first = 0, last = 0;
        for (int step = 0; step < 12; ++step) {
            const models::Metrics m = model->train_step(batch);
            REQUIRE(m.front().first == "loss");
            (step == 0 ? first : last) = m.front().second;
        }
        CHECK(last < 0.9 * first);
    }
}

TEST_CASE("fast-style: a style image that cannot be read is an error naming the file") {
    models::ModelConfig config;
    config.options = {{"style_image", "/nonexistent/style.png"}};
    CHECK_THROWS_WITH_AS(models::find_model("fast-style").create(config),
                         doctest::Contains("/nonexistent/style.png"), Error);
}
