// Colorization: the colourfulness metric against hand values, lab:SPEC paired data (L* in,
// a*b* out, grey data refused), and the colorize / colorize-l1 models' steps and sample rows.
#include <cmath>

#include "core/data/transforms.h"
#include "core/io/npy.h"
#include "core/ops.h"
#include "core/ops/color.h"
#include "core/random.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/metrics.h"
#include "models/paired_data.h"
#include "models/registry.h"

using namespace mg;
using mg::test::TempDir;

namespace {

constexpr int64_t kImages = 40, kSize = 16;

// kImages RGB images [N, S, S, 3] uint8 as npy (its --data spec): smooth colour ramps, red
// across, green down, blue per image, a little noise (grey: R = G = B, no red pixel).
std::string write_images(const TempDir& dir, bool grey) {
    manual_seed(5);
    const std::vector<float> noise = rand({kImages, kSize, kSize, 3}).to_vector<float>();
    std::vector<uint8_t> px(noise.size());
    for (int64_t i = 0; i < kImages; ++i)
        for (int64_t y = 0; y < kSize; ++y)
            for (int64_t x = 0; x < kSize; ++x) {
                const size_t k = size_t(((i * kSize + y) * kSize + x) * 3);
                const double rgb[3] = {x / 15.0, y / 15.0, (i % 8) / 7.0};
                for (size_t c = 0; c < 3; ++c)
                    px[k + c] = uint8_t(std::min(255.0, 230 * rgb[grey ? 0 : c] + 25 * noise[grey ? k : k + c]));
            }
    if (!grey) px[0] = 255, px[1] = 0, px[2] = 0;  // image 0, pixel (0, 0): pure red
    io::write_npy(dir / "images.npy", from_vector(px, Shape{kImages, kSize, kSize, 3}));
    return "npy:" + (dir / "images.npy");
}

std::unique_ptr<models::Model> small_model(const std::string& name, const std::string& data) {
    models::ModelConfig config;
    config.seed = 3;
    config.options = {{"width", 8}, {"batch_size", 8}, {"image_size", kSize}, {"lr", 1e-3}};
    if (!data.empty()) config.options["data"] = data;
    return models::find_model(name).create(config);
}

bool has_metric(const models::Metrics& m, const std::string& key) {
    for (const auto& [k, v] : m)
        if (k == key) return true;
    return false;
}
double metric(const models::Metrics& m, const std::string& key) {
    for (const auto& [k, v] : m)
        if (k == key) return v;
    FAIL("no metric " << key);
    return 0;
}

}  // namespace

TEST_CASE("colorfulness: Hasler & Suesstrunk's M on hand-computed images") {
    // Images of two pixels [N, 3, 1, 2], planar. Red and black: rg = (255, 0), yb = (127.5, 0),
    // so sd = mean = (127.5, 63.75). One flat colour (0.2, 0.4, 0.6): rg = -51,
    // yb = 76.5 - 153 = -76.5, no spread. Grey: 0.
    Tensor m = models::colorfulness(from_vector(std::vector<double>{1, 0, 0, 0, 0, 0,  //
                                                                    0.2, 0.2, 0.4, 0.4, 0.6, 0.6,  //
                                                                    0.7, 0.7, 0.7, 0.7, 0.7, 0.7},
                                                {3, 3, 1, 2}));
    const std::vector<double> v = m.to_vector<double>();
    CHECK(v[0] == doctest::Approx(1.3 * std::hypot(127.5, 63.75)).epsilon(1e-12));
    CHECK(v[1] == doctest::Approx(0.3 * std::hypot(51.0, 76.5)).epsilon(1e-12));
    CHECK(v[2] == doctest::Approx(0.0).epsilon(1e-12));
    CHECK_THROWS_WITH_AS(models::colorfulness(zeros({1, 1, 4, 4})), doctest::Contains("colorfulness: expected RGB"),
                         Error);
}

TEST_CASE("lab data: L* in, a*b* out, bytes as documented, shown back in RGB") {
    TempDir dir("colorize");
    const std::string spec = "lab:" + write_images(dir, false);
    auto model = small_model("colorize", spec);
    models::ImageData pairs = models::load_image_data(model->data_spec(), models::ImageSplit::All);
    REQUIRE(pairs.images.shape() == Shape{kImages, 3, kSize, kSize});
    // Pure red is L* 53.24, a* 80.09, b* 67.20 (tests/test_color.cpp): bytes round(2.55 L*),
    // round(127.5 + 127.5 a* / 110).
    const uint8_t* b = pairs.images.data<uint8_t>();
    CHECK(int(b[0]) == 136);
    CHECK(int(b[kSize * kSize]) == 220);
    CHECK(int(b[2 * kSize * kSize]) == 205);
    // In the loader's [-1, 1], back to RGB: within the bytes' rounding (0.2 in L*, 0.43 in a*b*)
    // of the source, which moves a channel near 0 most in RGB (sRGB's slope 12.92 there).
    Tensor x = data::to_float(pairs.images, data::PixelRange::MinusOneOne);
    models::PairedBatch pair = models::split_pair(x, 1);
    Tensor shown = mul(add(models::paired_as_image(spec, pair.input, pair.target), 1.0), 0.5);
    models::DataSpec source_spec = model->data_spec();
    source_spec.images = spec.substr(4);
    models::ImageData rgb = models::load_image_data(source_spec, models::ImageSplit::All);
    Tensor source = data::to_float(rgb.images, data::PixelRange::ZeroOne);
    CHECK(mean(abs(sub(shown, source))).item() < 0.005);
    CHECK(amax(abs(sub(shown, source))).item() < 0.08);  // a channel near 0 (pure red's G) moves most
    // Grey input shown: R = G = B.
    Tensor grey = models::paired_as_image(spec, pair.input);
    CHECK(amax(abs(sub(grey.slice(1, 0, 1), grey.slice(1, 2, 3)))).item() < 1e-3);
}

TEST_CASE("lab data: grey data is refused") {
    TempDir dir("colorize");
    auto model = small_model("colorize", "lab:" + write_images(dir, true));
    CHECK_THROWS_WITH_AS(models::load_image_data(model->data_spec()), doctest::Contains("the images are grey"), Error);
    CHECK_THROWS_WITH_AS(small_model("colorize", "lab:fashion-mnist"), doctest::Contains("Fashion-MNIST is grey"), Error);
    CHECK_THROWS_WITH_AS(small_model("colorize", "lab:lab:emoji"), doctest::Contains("lab of what?"), Error);
}

TEST_CASE("colorize and colorize-l1: steps lower the L1 on a*b*; samples are RGB rows") {
    TempDir dir("colorize");
    const std::string spec = "lab:" + write_images(dir, false);
    for (const char* name : {"colorize", "colorize-l1"}) {
        INFO(name);
        auto model = small_model(name, spec);
        CHECK(model->name() == name);
        const bool adversarial = std::string(name) == "colorize";
        data::Batch batch;
        batch.images = data::to_float(models::load_image_data(model->data_spec()).images.slice(0, 0, 8).contiguous(),
                                      data::PixelRange::MinusOneOne);
        std::vector<double> l1;  // per step
        while (l1.size() < 15) {
            const models::Metrics m = model->train_step(batch);
            l1.push_back(metric(m, "l1"));
            CHECK(has_metric(m, "loss_d") == adversarial);  // colorize-l1 does not train D
        }
        CHECK(l1.back() < 0.7 * l1.front());
        auto& translation = models::require<models::Translation>(*model, "test");
        CHECK(translation.input_channels() == 1);
        CHECK(translation.translate(batch.images.slice(1, 0, 1).contiguous()).shape() == Shape{8, 2, kSize, kSize});
        Tensor grid = models::require<models::Sampler>(*model, "test").sample(24);
        CHECK(grid.shape() == Shape{12, 3, kSize, kSize});  // 4 held-out pairs: grey, output, real
        CHECK(model->config()["adv_weight"].get<double>() == (adversarial ? 1.0 : 0.0));
    }
}
