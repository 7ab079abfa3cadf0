// The PixelCNN family on colour images (R, G, B channel groups, masked_conv.h): the masks,
// causality of both networks down to the channel (by autograd), the samplers agreeing, and
// the models at 8x8 RGB: a training step, the likelihood's layout against a hand-written
// sum, sampling and completion shapes, a checkpoint round trip and a grey one refused.
#include <cmath>
#include <filesystem>
#include <functional>
#include <numbers>

#include "core/minigen.h"
#include "helpers.h"
#include "models/pixelcnn/gated_model.h"
#include "models/pixelcnn/pixelcnn.h"
#include "models/trainer.h"

using namespace mg;
using mg::test::contains;
using mg::test::error_of;
using mg::test::metric;

namespace {

constexpr int64_t kColours = 3, kLevels = 256;

// May output (pixel p, channel co) depend on input (pixel q, channel ci)? Earlier pixels,
// every channel; the pixel itself, the channels before co (R -> G -> B).
bool allowed(int64_t q, int64_t ci, int64_t p, int64_t co) { return q < p || (q == p && ci < co); }

// For every output value of `forward` (x [1, 3, H, W] -> logits [1, 3*256, H, W]) the input
// gradient of a random mix of its 256 logits: exactly zero where not allowed; not zero at
// the pixel's own earlier channels and, all channels, its left and upper neighbours (or at
// every allowed input when `full_field`: a network without a blind spot that reaches all).
void check_causal(const std::function<Tensor(const Tensor&)>& forward, DType dtype, int64_t h, int64_t w,
                  bool full_field) {
    Tensor x = rand({1, kColours, h, w}, {dtype}).requires_grad_();
    Tensor logits = forward(x).reshape({kColours, kLevels, h, w});
    for (int64_t p = 0; p < h * w; ++p)
        for (int64_t co = 0; co < kColours; ++co) {
            const int64_t r = p / w, c = p % w;
            Tensor out = logits.select(0, co).select(1, r).select(1, c);  // [256]
            Tensor g = autograd::grad({sum(mul(out, randn({kLevels}, {dtype})))}, {x}, {}, /*retain_graph=*/true,
                                      false, /*allow_unused=*/true)[0];
            std::vector<double> gv = g.defined() ? g.to_vector<double>() : std::vector<double>(size_t(kColours * h * w));
            for (int64_t ci = 0; ci < kColours; ++ci)
                for (int64_t q = 0; q < h * w; ++q) {
                    CAPTURE(p);
                    CAPTURE(co);
                    CAPTURE(q);
                    CAPTURE(ci);
                    const double v = gv[size_t(ci * h * w + q)];
                    const bool near = q == p || (c > 0 && q == p - 1) || (r > 0 && q == p - w);
                    if (!allowed(q, ci, p, co)) CHECK(v == 0.0);
                    else if (full_field || near) CHECK(v != 0.0);
                }
        }
}

models::pixelcnn::NetShape colour_pixelcnn_shape() {
    models::pixelcnn::NetShape s;
    s.channels = 24;
    s.layers = 2;
    s.kernel = 5;
    s.colours = kColours;
    return s;
}

models::GatedNetOptions colour_gated_shape(int64_t classes = 0) {
    models::GatedNetOptions o;
    o.channels = 12;  // 4 per group: a group of 2 can be dead (ReLU) at every pixel
    o.layers = 3;
    o.first_kernel = 5;
    o.kernel = 3;  // receptive radius 4: all of a 5x5 image before the pixel
    o.head_channels = 24;
    o.classes = classes;
    o.colours = kColours;
    return o;
}

// An 8x8 RGB model of the family, on an image data set named by its options only (a
// model reads no data until the trainer does; a conditional one is given its classes).
models::ModelConfig rgb_config(const nlohmann::json& net_options, uint64_t seed = 4) {
    models::ModelConfig c;
    c.seed = seed;
    c.options = net_options;
    c.options["data"] = "npy:/nonexistent/rgb.npy";
    c.options["image_size"] = 8;
    c.options["channels"] = 3;
    c.options["batch_size"] = 4;
    return c;
}

std::unique_ptr<models::pixelcnn::PixelCnnModel> rgb_pixelcnn(uint64_t seed = 4) {
    return std::make_unique<models::pixelcnn::PixelCnnModel>(
        rgb_config({{"width", 12}, {"layers", 2}, {"kernel", 3}}, seed));
}

std::unique_ptr<models::GatedPixelCnn> rgb_gated(bool conditional, uint64_t seed = 4) {
    nlohmann::json o = {{"width", 6}, {"layers", 2}, {"first_kernel", 3}, {"head_channels", 6}};
    if (conditional) o["classes"] = 2;
    return std::make_unique<models::GatedPixelCnn>(rgb_config(o, seed), conditional);
}

// Random level images [n, 3, 8, 8]: k / 255.
Tensor rgb_images(int64_t n, int64_t size = 8) {
    return div(randint(0, 256, {n, kColours, size, size}).to(DType::Float32), 255.0);
}

// -log p of every value of `images` [n, 3, H, W] under logits [n, 3*256, H, W] read as
// [n, channel, level, H, W], summed over the values and averaged over the images: by hand.
double nats_by_hand(const Tensor& logits, const Tensor& images) {
    const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
    Tensor lp = log_softmax(logits.to(DType::Float64).reshape({n, kColours, kLevels, h, w}), 2);
    const std::vector<double> l = lp.contiguous().to_vector<double>(), x = images.to_vector<double>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < kColours; ++c)
            for (int64_t p = 0; p < h * w; ++p) {
                const int64_t level = std::lround(x[size_t((i * kColours + c) * h * w + p)] * 255.0);
                total -= l[size_t(((i * kColours + c) * kLevels + level) * h * w + p)];
            }
    return total / double(n);
}

// The first `rows` rows of every channel of a and b agree, and every value is a level.
void check_kept_rows(const Tensor& got, const Tensor& context, int64_t rows) {
    const int64_t s = got.size(2);
    const std::vector<float> a = got.to_vector<float>(), b = context.to_vector<float>();
    for (int64_t c = 0; c < kColours; ++c)
        for (int64_t p = 0; p < rows * s; ++p) CHECK(a[size_t(c * s * s + p)] == b[size_t(c * s * s + p)]);
    for (float v : a) CHECK(std::abs(v * 255.0f - std::round(v * 255.0f)) < 1e-3f);
}

}  // namespace

TEST_CASE("pixelcnn colour: the centre tap follows R -> G -> B; off the centre every pair sees the past") {
    using models::pixelcnn::causal_mask;
    for (char type : {'A', 'B'}) {
        CAPTURE(type);
        // 6 outputs, 3 inputs: output groups {0,1}, {2,3}, {4,5}; the image's channels R, G, B.
        const std::vector<float> m = causal_mask(6, 3, 3, type, kColours).to_vector<float>();
        for (int64_t o = 0; o < 6; ++o)
            for (int64_t i = 0; i < 3; ++i)
                for (int64_t t = 0; t < 9; ++t) {
                    CAPTURE(o);
                    CAPTURE(i);
                    CAPTURE(t);
                    const bool before = t < 4, centre = t == 4;
                    const bool want = before || (centre && (o / 2 > i || (o / 2 == i && type == 'B')));
                    CHECK(m[size_t((o * 3 + i) * 9 + t)] == (want ? 1.0f : 0.0f));
                }
    }
    // docs/pixelcnn.md's picture of the centre taps, 3 x 3 groups, mask A then B.
    CHECK(models::pixelcnn::colour_mask(3, 3, 'A', 3).to_vector<float>() ==
          std::vector<float>{0, 0, 0, 1, 0, 0, 1, 1, 0});
    CHECK(models::pixelcnn::colour_mask(3, 3, 'B', 3).to_vector<float>() ==
          std::vector<float>{1, 0, 0, 1, 1, 0, 1, 1, 1});
    CHECK(contains(error_of([] { causal_mask(64, 3, 3, 'B', 3); }), "equal groups"));
    CHECK(contains(error_of([] { models::pixelcnn::PixelCnnNet net({64, 1, 3, 256, 3}); }), "multiple of 3"));
    CHECK(models::pixelcnn::round_to_colours(64, 3) == 66);
    CHECK(models::pixelcnn::round_to_colours(64, 1) == 64);
}

TEST_CASE("pixelcnn colour: each value depends on exactly the earlier pixels and its pixel's earlier channels") {
    manual_seed(31);
    models::pixelcnn::PixelCnnNet net(colour_pixelcnn_shape());
    net.eval();  // running statistics: BatchNorm mixes no positions
    for (Tensor& p : net.parameters()) p.requires_grad_(false);
    check_causal([&](const Tensor& x) { return net(x); }, DType::Float32, 5, 5, /*full_field=*/false);
}

TEST_CASE("gated-pixelcnn colour: each value depends on exactly the earlier pixels and its pixel's earlier channels") {
    manual_seed(32);
    models::GatedPixelCnnNet net(colour_gated_shape(/*classes=*/2));
    {
        // The head's ReLUs open at every pixel, so that a dead unit cannot hide a dependence.
        autograd::NoGradGuard no_grad;
        Tensor& last_bias = net.layers.back()->conv_out->bias;
        last_bias.copy_(full(last_bias.shape(), 3.0));
        net.head_hidden->bias.copy_(full(net.head_hidden->bias.shape(), 3.0));
    }
    net.to(DType::Float64);
    for (Tensor& p : net.parameters()) p.requires_grad_(false);
    const Tensor labels = from_vector(std::vector<int64_t>{1});
    check_causal([&](const Tensor& x) { return net.forward(x, labels); }, DType::Float64, 5, 5, /*full_field=*/true);
}

TEST_CASE("pixelcnn colour: the cached sampler draws what the naive one draws, channel by channel") {
    manual_seed(33);
    models::pixelcnn::PixelCnnNet net(colour_pixelcnn_shape());
    const int64_t n = 2, h = 5, w = 6;
    Tensor context = rgb_images(n, 6).slice(2, 0, h).contiguous();
    for (int64_t first : {int64_t(0), int64_t(8)}) {
        CAPTURE(first);
        Tensor u = rand({n, kColours * h * w}, {DType::Float64});
        Tensor naive = sample_pixels(net, context, first, u, models::pixelcnn::SamplerKind::Naive);
        Tensor cached = sample_pixels(net, context, first, u, models::pixelcnn::SamplerKind::Cached);
        REQUIRE(naive.shape() == Shape({n, kColours, h, w}));
        CHECK(naive.to_vector<float>() == cached.to_vector<float>());
        const std::vector<float> got = cached.to_vector<float>(), given = context.to_vector<float>();
        for (int64_t i = 0; i < n * kColours; ++i)
            for (int64_t p = 0; p < first; ++p) CHECK(got[size_t(i * h * w + p)] == given[size_t(i * h * w + p)]);
    }
}

TEST_CASE("gated-pixelcnn colour: the naive, rows and cached samplers give the same bits") {
    manual_seed(34);
    models::GatedPixelCnnNet net(colour_gated_shape(/*classes=*/2));
    net.eval();
    Tensor uniforms = rand({2, kColours, 5, 6}, {DType::Float64});
    Tensor labels = from_vector(std::vector<int64_t>{0, 1});
    auto draw = [&](models::GatedSampler which) {
        return models::sample_gated(net, zeros({2, kColours, 5, 6}), labels, 0, uniforms, which, Device::CPU);
    };
    const std::vector<float> naive = draw(models::GatedSampler::Naive).to_vector<float>();
    CHECK(draw(models::GatedSampler::Rows).to_vector<float>() == naive);
    CHECK(draw(models::GatedSampler::Cached).to_vector<float>() == naive);
}

TEST_CASE("pixelcnn family at 8x8 RGB: training step, likelihood per dimension, samples, completion") {
    for (const std::string kind : {"pixelcnn", "gated-pixelcnn", "gated-pixelcnn-cond"}) {
        CAPTURE(kind);
        manual_seed(35);
        std::unique_ptr<models::Model> model;
        if (kind == "pixelcnn") model = rgb_pixelcnn();
        else model = rgb_gated(kind == "gated-pixelcnn-cond");
        auto* lik = dynamic_cast<models::Likelihood*>(model.get());
        auto* sampler = dynamic_cast<models::Sampler*>(model.get());
        auto* completion = dynamic_cast<models::Completion*>(model.get());
        REQUIRE((lik && sampler && completion));
        const bool cond = kind == "gated-pixelcnn-cond";
        const models::DataSpec spec = model->data_spec();
        CHECK((spec.source == models::DataSpec::Source::Images && spec.image_size == 8 && spec.channels == 3));
        CHECK(spec.range == data::PixelRange::ZeroOne);
        CHECK(spec.labels == cond);
        const nlohmann::json config = model->config();
        CHECK((config["image_size"] == 8 && config["data"] == "npy:/nonexistent/rgb.npy"));
        CHECK(config["channels"] == 3);  // the images'; the network's is "width"
        CHECK(config["width"] == (kind == "pixelcnn" ? 12 : 6));

        data::Batch batch;
        batch.images = rgb_images(4);
        batch.labels = from_vector(std::vector<int64_t>{0, 1, 1, 0});
        const Tensor labels = cond ? batch.labels : Tensor();
        // The likelihood (eval mode) against the hand-written sum over [n, channel, level, H, W].
        const models::Metrics m = lik->likelihood(batch.images, labels, {});
        Tensor logits;
        {
            autograd::NoGradGuard no_grad;
            if (auto* p = dynamic_cast<models::pixelcnn::PixelCnnModel*>(model.get())) {
                p->net().eval();
                logits = p->net()(batch.images);
                p->net().train();
            } else {
                logits = dynamic_cast<models::GatedPixelCnn*>(model.get())->net().forward(batch.images, labels);
            }
        }
        REQUIRE(logits.shape() == Shape({4, kColours * kLevels, 8, 8}));
        CHECK(metric(m, "nll_nats") == doctest::Approx(nats_by_hand(logits, batch.images)).epsilon(1e-5));
        CHECK(metric(m, "nll_nats_per_dim") == doctest::Approx(metric(m, "nll_nats") / 192.0).epsilon(1e-12));
        CHECK(metric(m, "nll_bits_per_dim") == doctest::Approx(metric(m, "nll_nats_per_dim") / std::numbers::ln2));

        // Training steps: per-dimension loss (the gated nets have no BatchNorm: the
        // likelihood's number), finite, and falling on one batch.
        const models::Metrics first = model->train_step(batch);
        const double loss0 = first[0].second;
        CHECK(first[0].first == "loss");
        if (kind != "pixelcnn") CHECK(loss0 == doctest::Approx(metric(m, "nll_nats_per_dim")).epsilon(1e-5));
        double loss = loss0;
        for (int step = 0; step < 5; ++step) loss = model->train_step(batch)[0].second;
        CHECK(std::isfinite(loss));
        CHECK(loss < loss0);

        Tensor samples = sampler->sample(3);
        CHECK(samples.shape() == Shape({3, kColours, 8, 8}));
        check_kept_rows(samples, samples, 0);
        Tensor done = completion->complete(batch.images.slice(0, 0, 2), cond ? batch.labels.slice(0, 0, 2) : Tensor(),
                                           4, 2);
        REQUIRE(done.shape() == Shape({4, kColours, 8, 8}));
        for (int64_t i = 0; i < 4; ++i) check_kept_rows(done.select(0, i), batch.images.select(0, i / 2), 4);
        const Tensor one_label = cond ? labels.slice(0, 0, 1) : Tensor();
        CHECK(contains(error_of([&] { lik->likelihood(rgb_images(1).slice(1, 0, 1), one_label, {}); }),
                       "[N, 3, H, W]"));
        CHECK(contains(error_of([&] { completion->complete(rgb_images(1, 6), one_label, 2, 1); }), "[N, 3, 8, 8]"));
    }
}

TEST_CASE("pixelcnn family colour: a checkpoint round trip, and a grey checkpoint refused") {
    const test::TempDir dir("pixelcnn-colour");
    for (bool gated : {false, true}) {
        CAPTURE(gated);
        manual_seed(36);
        auto make = [&](uint64_t seed) -> std::unique_ptr<models::Model> {
            if (gated) return rgb_gated(false, seed);
            return rgb_pixelcnn(seed);
        };
        std::unique_ptr<models::Model> a = make(1);
        data::Batch batch;
        batch.images = rgb_images(4);
        a->train_step(batch);
        const std::string path = dir / (gated ? "gated.safetensors" : "plain.safetensors");
        models::save_model_checkpoint(*a, path, 1, 0, 1);
        std::unique_ptr<models::Model> b = make(2);  // other weights until the load
        models::load_model_checkpoint(*b, path, /*with_optimizers=*/true, false);
        manual_seed(9);
        Tensor sa = dynamic_cast<models::Sampler&>(*a).sample(2);
        manual_seed(9);
        Tensor sb = dynamic_cast<models::Sampler&>(*b).sample(2);
        CHECK(sa.to_vector<float>() == sb.to_vector<float>());

        // The same network on grey images: its checkpoint does not fit the colour model.
        models::ModelConfig grey;
        grey.options = gated ? nlohmann::json{{"width", 6}, {"layers", 2}, {"first_kernel", 3}, {"head_channels", 6}}
                             : nlohmann::json{{"width", 12}, {"layers", 2}, {"kernel", 3}};
        std::unique_ptr<models::Model> g;
        if (gated) g = std::make_unique<models::GatedPixelCnn>(grey, false);
        else g = std::make_unique<models::pixelcnn::PixelCnnModel>(grey);
        const std::string grey_path = dir / "grey.safetensors";
        models::save_model_checkpoint(*g, grey_path, 0, 0, 0);
        const std::string refused = error_of([&] { models::load_model_checkpoint(*b, grey_path, false, false); });
        CHECK(contains(refused, "grey.safetensors"));
        CHECK(contains(refused, "tensor"));  // a missing mask, or a weight of another shape
    }
}
