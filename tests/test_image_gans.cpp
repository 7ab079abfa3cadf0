// dcgan, cgan and wgan-gp on any image data set: the networks' size rule, the recorded data
// settings, steps at 32x32x3 and 64x64x3, DiffAugment in the step, and sample --post's parser.
#include <cmath>

#include "core/ops.h"
#include "core/random.h"
#include "helpers.h"
#include "models/gan/adversarial.h"
#include "models/gan/networks.h"
#include "models/registry.h"
#include "tools/sample_post.h"

using namespace mg;

namespace {

// A small image GAN on a data set that is never opened (its classes are given).
std::unique_ptr<models::Model> small_gan(const char* name, int64_t size, int64_t channels,
                                         nlohmann::json extra = nlohmann::json::object()) {
    models::ModelConfig config;
    config.seed = 5;
    config.options = {{"width", 4}, {"z_dim", 8}, {"batch_size", 4}, {"data", "npy:unused.npy"},
                      {"image_size", size}, {"channels", channels}, {"classes", 3}};
    config.options.update(extra);
    return models::find_model(name).create(config);
}

data::Batch random_batch(int64_t n, int64_t c, int64_t size) {
    manual_seed(9);
    data::Batch b;
    b.images = rand({n, c, size, size}, {DType::Float32}, -1.0, 1.0);
    b.labels = from_vector(std::vector<int64_t>{0, 1, 2, 1});
    return b;
}

}  // namespace

TEST_CASE("image gans: one up/down block per factor of 2 above a 7x7 or 4x4 base") {
    auto shape = [](int64_t s) {
        models::ImageShape r = models::image_shape(s);
        return std::pair{r.base, r.blocks};
    };
    CHECK(shape(28) == std::pair<int64_t, int64_t>{7, 2});
    CHECK(shape(56) == std::pair<int64_t, int64_t>{7, 3});
    CHECK(shape(16) == std::pair<int64_t, int64_t>{4, 2});
    CHECK(shape(32) == std::pair<int64_t, int64_t>{4, 3});
    CHECK(shape(64) == std::pair<int64_t, int64_t>{4, 4});
    for (int64_t bad : {8, 14, 30, 48, 100})
        CHECK(test::error_of([&] { models::image_shape(bad); }).find(std::to_string(bad)) != std::string::npos);
}

TEST_CASE("image gans: Fashion-MNIST keeps workloads.md's networks and records its data") {
    models::ModelConfig config;
    config.options = {{"width", 4}};
    auto model = models::find_model("cgan").create(config);
    nlohmann::json c = model->config();
    CHECK(c["data"] == "fashion-mnist");
    CHECK(c["image_size"] == 28);
    CHECK(c["channels"] == 1);
    CHECK(c["classes"] == 10);
    auto& gan = dynamic_cast<models::AdversarialModel&>(*model);
    CHECK(gan.sample(2).shape() == Shape{2, 1, 28, 28});
    // The generator's first layer: 2w channels at 7x7, as before.
    auto* g = dynamic_cast<models::DcGenerator*>(&gan.generator());
    REQUIRE(g != nullptr);
    CHECK(Tensor(g->fc->weight).shape() == Shape{2 * 4 * 49, 100 + 10});

    config.options = {{"image_size", 32}};
    CHECK(test::error_of([&] { models::find_model("dcgan").create(config); }).find("Fashion-MNIST is 28x28") !=
          std::string::npos);
    config.options = {{"data", "flder:x"}};
    CHECK(test::error_of([&] { models::find_model("dcgan").create(config); }).find("flder:x") != std::string::npos);
}

TEST_CASE("image gans: dcgan, cgan and wgan-gp train at 32x32x3 and 64x64x3") {
    for (const char* name : {"dcgan", "cgan", "wgan-gp"})
        for (int64_t size : {32, 64}) {
            CAPTURE(name);
            CAPTURE(size);
            auto model = small_gan(name, size, 3);
            auto& gan = dynamic_cast<models::AdversarialModel&>(*model);
            CHECK(gan.sample(2).shape() == Shape{2, 3, size, size});
            models::Metrics m = model->train_step(random_batch(4, 3, size));
            CHECK(std::isfinite(test::metric(m, "loss_d")));
            nlohmann::json c = model->config();
            CHECK(c["image_size"] == size);
            CHECK(c["channels"] == 3);
            CHECK(c["data"] == "npy:unused.npy");
        }
    auto cgan = small_gan("cgan", 32, 1);
    CHECK(dynamic_cast<models::AdversarialModel&>(*cgan).class_count() == 3);
    CHECK(dynamic_cast<models::AdversarialModel&>(*cgan).sample(1).shape() == Shape{1, 1, 32, 32});
}

TEST_CASE("image gans: diffaug changes what D sees, and a seeded step is reproduced") {
    const data::Batch batch = random_batch(4, 3, 32);
    auto step = [&](const char* name, const char* policy) {
        auto model = small_gan(name, 32, 3, {{"diffaug", policy}, {"n_critic", 1}});
        models::Metrics first = model->train_step(batch);
        models::Metrics second = model->train_step(batch);
        return std::pair{first, second};
    };
    for (const char* name : {"dcgan", "wgan-gp"}) {
        CAPTURE(name);
        auto [plain, plain2] = step(name, "");
        auto [aug, aug2] = step(name, "color,translation,cutout");
        auto [again, again2] = step(name, "color,translation,cutout");
        // Same weights and batch: only the augmentation differs, so D's outputs do.
        CHECK(test::metric(plain, "d_real") != test::metric(aug, "d_real"));
        CHECK(test::metric(plain, "d_fake") != test::metric(aug, "d_fake"));
        CHECK(test::metric(aug, "loss_d") == test::metric(again, "loss_d"));
        CHECK(test::metric(aug2, "loss_g") == test::metric(again2, "loss_g"));
        CHECK(test::metric(aug2, "loss_d") != test::metric(aug, "loss_d"));  // a fresh draw each step
        if (std::string(name) == "wgan-gp") CHECK(std::isfinite(test::metric(aug, "gp")));
    }
    CHECK(small_gan("dcgan", 32, 3, {{"diffaug", "color"}})->config()["diffaug"] == "color");
    CHECK(test::error_of([&] { small_gan("dcgan", 32, 3, {{"diffaug", "colour"}}); }).find("colour") !=
          std::string::npos);
}

TEST_CASE("sample --post: steps, parameters and errors") {
    std::vector<tools::PostStep> steps = tools::parse_post("median:3,unsharp,grey-world,histmatch,upscale:4");
    REQUIRE(steps.size() == 5);
    CHECK(steps[0].kind == tools::PostStep::Kind::median);
    CHECK(steps[4].value == 4);
    CHECK(tools::needs_histograms(steps));
    CHECK(!tools::needs_histograms(tools::parse_post("bilateral:2")));
    for (const char* bad : {"sharpen", "median:4", "upscale:1", "upscale:x", "grey-world:2", "median,,upscale", ""})
        CHECK(test::error_of([&] { tools::parse_post(bad); }).find("--post") != std::string::npos);

    io::ImageU8 im{4, 4, 3, std::vector<uint8_t>(48)};
    for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 5);
    std::vector<io::ImageU8> out = tools::apply_post({im}, tools::parse_post("upscale:2,median:3"), nullptr);
    CHECK(out[0].height == 8);
    CHECK(out[0].width == 8);
    CHECK(out[0].pixels != data::median_filter(data::upscale(im, 2), 1).pixels);  // the median did something
    CHECK(test::error_of([&] { tools::apply_post({im}, tools::parse_post("histmatch"), nullptr); })
              .find("histmatch") != std::string::npos);
}
