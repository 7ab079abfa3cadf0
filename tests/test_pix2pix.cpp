// pix2pix: Sobel edges, paired data stacking, the U-Net and PatchGAN shapes at 28, 32 and 64
// and their outputs against PyTorch's on the same weights (tests/reference/make_pix2pix_fixture.py),
// SSIM and PSNR against scipy (tools/reference/ssim_ref.py), steps that lower the L1 on a
// tiny paired set, and the refusals of unpaired data.
#include <cmath>

#include "core/autograd.h"
#include "core/data/edges.h"
#include "core/data/transforms.h"
#include "core/ops.h"
#include "core/random.h"
#include "fixture_reader.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/gan/pix2pix_networks.h"
#include "models/metrics.h"
#include "models/paired_data.h"
#include "models/registry.h"

using namespace mg;

namespace {

double metric(const models::Metrics& m, const std::string& key) {
    for (const auto& [k, v] : m)
        if (k == key) return v;
    FAIL("no metric " << key);
    return 0;
}

std::unique_ptr<models::Model> small_pix2pix(nlohmann::json extra = nlohmann::json::object()) {
    models::ModelConfig config;
    config.seed = 3;
    config.options = {{"width", 8}, {"batch_size", 8}};
    config.options.update(extra);
    return models::find_model("pix2pix").create(config);
}

}  // namespace

TEST_CASE("pix2pix: Sobel edges of a step, of colour by luma, and of a flat image") {
    // Left half 0, right half 100: |gx| = 4 * 100 on the two columns beside the step, 0 elsewhere
    // (the border replicated), scaled so the strongest edge is 255.
    std::vector<uint8_t> step = {0, 0, 100, 100, 0, 0, 100, 100, 0, 0, 100, 100};
    std::vector<uint8_t> edges(12);
    data::sobel_edges(step.data(), 1, 3, 4, edges.data());
    CHECK(edges == std::vector<uint8_t>{0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255, 0});
    // A diagonal ramp: gx = gy everywhere inside, so every pixel has the same magnitude.
    std::vector<uint8_t> rgb(3 * 9);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
            for (int c = 0; c < 3; ++c) rgb[size_t(c * 9 + y * 3 + x)] = uint8_t(40 * (x + y));
    std::vector<uint8_t> e(9);
    data::sobel_edges(rgb.data(), 3, 3, 3, e.data());
    CHECK(e[4] == 255);  // the centre: gx = gy = 320, the strongest
    CHECK(e[0] < e[4]);  // a corner sees the replicated border: a weaker gradient
    std::vector<uint8_t> flat(16, 77), none(16, 1);
    data::sobel_edges(flat.data(), 1, 4, 4, none.data());
    CHECK(none == std::vector<uint8_t>(16, 0));
}

TEST_CASE("pix2pix: pairs stack on the channel axis and split back; mismatched sides are refused") {
    Tensor in = full({2, 1, 4, 4}, 1.0), target = full({2, 3, 4, 4}, 2.0);
    Tensor stacked = models::stack_pair(in, target, "test pairs");
    CHECK(stacked.shape() == Shape{2, 4, 4, 4});
    models::PairedBatch p = models::split_pair(stacked, 1);
    CHECK(p.input.shape() == Shape{2, 1, 4, 4});
    CHECK(p.target.shape() == Shape{2, 3, 4, 4});
    CHECK(sum(p.target).item() == doctest::Approx(2.0 * 2 * 3 * 16));
    CHECK_THROWS_WITH_AS(models::stack_pair(in, full({2, 3, 5, 5}, 0.0), "test pairs"),
                         doctest::Contains("test pairs: the inputs [2, 1, 4, 4] and targets [2, 3, 5, 5] differ"), Error);
    CHECK_THROWS_WITH_AS(models::split_pair(in, 1), doctest::Contains("the input's 1 channels and the target's"), Error);
    CHECK(models::is_paired_data_spec("edges:emoji"));
    CHECK(models::paired_source("emoji-pair:twitter,google") == "emoji:twitter,google");
    CHECK(models::paired_input_channels("edges:emoji", 3) == 1);
    CHECK(models::paired_input_channels("emoji-pair:google,twitter", 3) == 3);
    CHECK_THROWS_WITH_AS(models::paired_source("emoji-pair:google,apple"), doctest::Contains("two different vendors"),
                         Error);
    CHECK_THROWS_WITH_AS(models::paired_source("edges:edges:emoji"), doctest::Contains("edges of what?"), Error);
}

TEST_CASE("pix2pix: U-Net and PatchGAN shapes at 28, 32 and 64") {
    manual_seed(1);
    struct Case {
        int64_t size, depth, dropout_blocks, patch_layers, patch;
    };
    for (Case c : {Case{28, 5, 2, 1, 12}, Case{32, 5, 2, 1, 14}, Case{64, 6, 3, 2, 14}}) {
        CAPTURE(c.size);
        models::UNetGenerator g(1, 3, c.size, 4);
        CHECK(g.depth == c.depth);
        CHECK(g.dropout_blocks == c.dropout_blocks);
        Tensor x = rand({2, 1, c.size, c.size}, {DType::Float32}, -1.0, 1.0);
        Tensor y = g(x);
        CHECK(y.shape() == Shape{2, 3, c.size, c.size});
        CHECK(amax(abs(y)).item() < 1.0);
        CHECK(models::patch_layers(c.size) == c.patch_layers);
        models::PatchDiscriminator d(4, models::patch_layers(c.size), 4);
        CHECK(d(cat({x, y}, 1)).shape() == Shape{2, 1, c.patch, c.patch});
    }
    CHECK(models::patch_layers(128) == 3);
    CHECK(models::patch_layers(256) == 3);
    CHECK(models::patch_receptive_field(1) == 16);
    CHECK(models::patch_receptive_field(2) == 34);
    CHECK(models::patch_receptive_field(3) == 70);  // the paper's 70x70 PatchGAN
    CHECK_THROWS_WITH_AS(models::UNetGenerator(1, 3, 8, 4), doctest::Contains("image size 8 not in 16..256"), Error);
}

TEST_CASE("pix2pix: the U-Net (28 padded to 32) and the PatchGAN match PyTorch on the same weights") {
    const test::Fixture f =
        test::read_fixture(std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/pix2pix_networks.safetensors");
    models::UNetGenerator g(1, 3, 28, /*width=*/2, /*dropout=*/0.0);
    models::PatchDiscriminator d(4, models::patch_layers(28), /*width=*/2);
    nn::StateDict gs, ds;
    for (const auto& [name, t] : f.tensors) {
        if (name.rfind("G.", 0) == 0) gs.insert(name.substr(2), t);
        if (name.rfind("D.", 0) == 0) ds.insert(name.substr(2), t);
    }
    g.load_state_dict(gs);  // strict: every name and shape as PyTorch's
    d.load_state_dict(ds);
    autograd::NoGradGuard no_grad;
    const Tensor x = f.at("input");
    const Tensor y = g(x);
    auto relative_error = [](const Tensor& got, const Tensor& want) {
        return amax(abs(sub(got, want))).item() / amax(abs(want)).item();
    };
    CHECK(relative_error(y, f.at("output")) < 1e-4);
    CHECK(relative_error(d(cat({x, f.at("output")}, 1)), f.at("logits")) < 1e-4);
}

TEST_CASE("pix2pix: SSIM and PSNR match scipy's computation (tools/reference/ssim_ref.py)") {
    std::vector<double> a(2 * 16 * 20), b(a.size()), c(a.size());
    for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 20; ++j) {
            const size_t p = size_t(i * 20 + j), q = p + 320;
            a[p] = (std::sin(0.3 * i + 0.2 * j) + 1) / 2;
            a[q] = ((i * 7 + j * 3) % 11) / 10.0;
            b[p] = (std::sin(0.3 * i + 0.25 * j + 0.4) + 1) / 2;
            b[q] = ((i * 5 + j * 3) % 11) / 10.0 * 0.8 + 0.1;
        }
    for (size_t k = 0; k < a.size(); ++k) c[k] = 0.9 * a[k] + 0.05;
    Tensor ta = from_vector(a, {1, 2, 16, 20}), tb = from_vector(b, {1, 2, 16, 20}), tc = from_vector(c, {1, 2, 16, 20});
    CHECK(models::ssim(ta, tb).item() == doctest::Approx(0.12604278676101663).epsilon(1e-9));
    CHECK(models::ssim(ta, tc).item() == doctest::Approx(0.9775086630822662).epsilon(1e-9));
    CHECK(models::ssim(ta, ta).item() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(models::psnr(ta, tb).item() == doctest::Approx(9.006857075325742).epsilon(1e-9));
    CHECK(models::psnr(ta, tc).item() == doctest::Approx(29.44332597580892).epsilon(1e-9));
    CHECK(models::psnr(ta, ta).item() == 100.0);
    Tensor both = cat({ta, ta}, 0);
    CHECK(models::ssim(both, cat({tb, tc}, 0)).to_vector<double>()[1] == doctest::Approx(0.9775086630822662));
    CHECK_THROWS_WITH_AS(models::ssim(ta.slice(2, 0, 10), tb.slice(2, 0, 10)), doctest::Contains("smaller than 11x11"),
                         Error);
}

TEST_CASE("pix2pix: steps on a tiny paired set (Fashion-MNIST edges) lower the L1 to the targets") {
    auto model = small_pix2pix({{"lr", 1e-3}});
    models::ImageData pairs = models::load_image_data(model->data_spec(), models::ImageSplit::Test);
    REQUIRE(pairs.images.shape() == Shape{10000, 2, 28, 28});
    data::Batch batch;
    batch.images = data::to_float(pairs.images.slice(0, 0, 8).contiguous(), data::PixelRange::MinusOneOne);
    double first = 0, last = 0;
    for (int step = 0; step < 20; ++step) {
        models::Metrics m = model->train_step(batch);
        (step == 0 ? first : last) = metric(m, "l1");
        CHECK(std::isfinite(metric(m, "loss_d")));
    }
    CHECK(last < 0.7 * first);
    auto& translation = models::require<models::Translation>(*model, "test");
    CHECK(translation.translate(batch.images.slice(1, 0, 1).contiguous()).shape() == Shape{8, 1, 28, 28});
    CHECK_THROWS_WITH_AS(translation.translate(batch.images), doctest::Contains("do not fit the model"), Error);
}

TEST_CASE("pix2pix: unpaired data is refused, and paired data by the unpaired models") {
    CHECK_THROWS_WITH_AS(small_pix2pix({{"data", "emoji"}}), doctest::Contains("'data' emoji is not a paired data set"),
                         Error);
    CHECK_THROWS_WITH_AS(small_pix2pix({{"data", "edges:emoji"}, {"jitter", "0.2"}}),
                         doctest::Contains("'jitter' 0.2 does not apply to paired data"), Error);
    models::ModelConfig config;
    config.options = {{"data", "edges:emoji"}};
    CHECK_THROWS_WITH_AS(models::find_model("dcgan").create(config),
                         doctest::Contains("'data' edges:emoji is a paired data set"), Error);
}
