// The Gated PixelCNN: its receptive field is exactly the closed form (no blind spot, no
// peeking), one gated layer matches finite differences, the label reaches the logits and
// the samples, the three samplers give the same bits, training lowers the loss, and
// likelihood() matches a log-softmax computed by hand.
#include <cmath>
#include <numbers>

#include "helpers.h"
#include "models/pixelcnn/gated_model.h"
#include "models/registry.h"

using namespace mg;
using models::GatedPixelCnn;
using models::GatedPixelCnnNet;

namespace {

models::GatedNetOptions tiny_net(int64_t classes = 0) {
    models::GatedNetOptions o;
    o.channels = 4;
    o.layers = 3;
    o.first_kernel = 5;
    o.kernel = 3;
    o.head_channels = 8;
    o.classes = classes;
    return o;
}

std::unique_ptr<GatedPixelCnn> tiny_model(bool conditional, uint64_t seed = 3) {
    models::ModelConfig c;
    c.seed = seed;
    c.options = {{"width", 8}, {"layers", 3}, {"first_kernel", 5}, {"kernel", 3}, {"head_channels", 16}};
    return std::make_unique<GatedPixelCnn>(c, conditional);
}

// Images whose levels are k/255 for random integers k.
Tensor level_images(int64_t n, int64_t h = 28, int64_t w = 28) {
    return mul(randint(0, 256, {n, 1, h, w}).to(DType::Float32), 1.0 / 255.0);
}

// Is input pixel (rr, cc) inside the receptive field of output pixel (r, c)? (gated_network.h)
bool in_field(int64_t rr, int64_t cc, int64_t r, int64_t c, int64_t radius) {
    if (rr == r) return cc >= c - radius && cc < c;
    return rr >= r - 1 - radius && rr < r && std::abs(cc - c) <= radius;
}

}  // namespace

TEST_CASE("gated-pixelcnn: the receptive field is every earlier pixel within reach, blind spot included") {
    manual_seed(11);
    GatedPixelCnnNet net(tiny_net());
    net.to(DType::Float64);
    const int64_t H = 10, W = 12, R = net.receptive_radius();
    REQUIRE(R == 5 / 2 + 2 * (3 / 2));
    Tensor x = rand({2, 1, H, W}, {DType::Float64}).requires_grad_();
    Tensor logits = net.forward(x, Tensor());
    REQUIRE(logits.shape() == Shape({2, 256, H, W}));
    const std::vector<std::pair<int64_t, int64_t>> outputs = {{0, 0}, {0, 5}, {1, 11}, {5, 6}, {6, 0}, {7, 11}, {9, 9}};
    for (auto [r, c] : outputs) {
        CAPTURE(r);
        CAPTURE(c);
        Tensor pixel = logits.select(0, 0).select(1, r).select(1, c);  // image 0's 256 logits at (r, c)
        Tensor g = autograd::grad({sum(mul(pixel, randn({256}, {DType::Float64})))}, {x}, {}, true, false, true)[0];
        std::vector<double> gv = g.defined() ? g.to_vector<double>() : std::vector<double>(size_t(2 * H * W), 0.0);
        int64_t inside = 0;
        for (int64_t img = 0; img < 2; ++img)
            for (int64_t rr = 0; rr < H; ++rr)
                for (int64_t cc = 0; cc < W; ++cc) {
                    CAPTURE(img);
                    CAPTURE(rr);
                    CAPTURE(cc);
                    const double v = gv[size_t((img * H + rr) * W + cc)];
                    if (img == 0 && in_field(rr, cc, r, c, R)) {
                        CHECK(v != 0.0);
                        ++inside;
                    } else {
                        CHECK(v == 0.0);  // later pixels, the pixel itself, out of reach, other images
                    }
                }
        CHECK((inside > 0) == (r > 0 || c > 0));  // (0, 0) sees nothing but biases
    }
    // The blind spot of a plain masked PixelCNN: the pixels up and to the right. Named explicitly.
    Tensor pixel = logits.select(0, 0).select(1, 5).select(1, 6);
    Tensor g = autograd::grad({sum(pixel)}, {x}, {}, true)[0];
    for (auto [rr, cc] : std::vector<std::pair<int64_t, int64_t>>{{4, 7}, {4, 10}, {3, 9}, {1, 10}, {0, 10}}) {
        CAPTURE(rr);
        CAPTURE(cc);
        CHECK(g.select(0, 0).select(0, 0).select(0, rr).select(0, cc).item() != 0.0);
    }
}

TEST_CASE("gated-pixelcnn: one gated layer matches finite differences in float64") {
    for (bool first : {true, false}) {
        CAPTURE(first);
        manual_seed(21);
        models::GatedLayer layer(first ? 1 : 2, 2, first ? 5 : 3, first, /*classes=*/3);
        layer.to(DType::Float64);
        const int64_t cin = first ? 1 : 2;
        Tensor v = rand({2, cin, 3, 4}, {DType::Float64}, -1, 1).requires_grad_();
        Tensor h = rand({2, cin, 3, 4}, {DType::Float64}, -1, 1).requires_grad_();
        Tensor labels = from_vector(std::vector<int64_t>{2, 0});
        std::vector<Tensor> inputs = {v, h};
        for (const Tensor& p : layer.parameters()) inputs.push_back(p);
        auto f = [&](const std::vector<Tensor>& in) {
            auto [vo, ho] = layer.forward(in[0], in[1], labels);
            return cat({vo.flatten(), ho.flatten()});
        };
        GradcheckResult r = gradcheck(f, inputs);
        INFO(r.message);
        CHECK(r.ok);
    }
}

TEST_CASE("gated-pixelcnn: the label changes the logits, and training makes samples follow it") {
    auto model = tiny_model(true);
    CHECK(model->conditional());
    CHECK(model->name() == "gated-pixelcnn-cond");
    CHECK(model->data_spec().labels);
    {  // by construction: one input, two labels
        autograd::NoGradGuard no_grad;
        Tensor x = level_images(1).expand({2, 1, 28, 28}).contiguous();
        Tensor logits = model->net().forward(x, from_vector(std::vector<int64_t>{0, 7}));
        Tensor diff = abs(sub(logits.select(0, 0), logits.select(0, 1)));
        CHECK(amax(diff).item() > 1e-3);
    }
    // Class 0: black images, class 1: white ones (8 x 8: the net is convolutional). A short
    // training ties the colour to the label, and 28 x 28 samples follow it.
    models::ModelConfig c;
    c.seed = 5;
    c.options = {{"width", 8}, {"layers", 2}, {"first_kernel", 3}, {"head_channels", 16}, {"lr", 3e-2}};
    auto trained = models::find_model("gated-pixelcnn-cond").create(c);
    data::Batch b;
    b.labels = from_vector(std::vector<int64_t>{0, 1, 0, 1, 0, 1, 0, 1});
    b.images = b.labels.to(DType::Float32).view({8, 1, 1, 1}).expand({8, 1, 8, 8}).contiguous();
    models::Metrics first = trained->train_step(b), last;
    for (int i = 0; i < 50; ++i) last = trained->train_step(b);
    CHECK(last[0].second < first[0].second);
    manual_seed(9);
    Tensor s = models::require<models::ClassConditional>(*trained, "test").sample_with_labels(
        from_vector(std::vector<int64_t>{0, 0, 1, 1}));
    REQUIRE(s.shape() == Shape({4, 1, 28, 28}));
    const double dark = mean(s.slice(0, 0, 2)).item(), bright = mean(s.slice(0, 2, 4)).item();
    CHECK(dark < 0.1);
    CHECK(bright > 0.9);
}

TEST_CASE("gated-pixelcnn: the naive, rows and cached samplers give identical samples") {
    using models::GatedSampler;
    for (bool conditional : {false, true}) {
        CAPTURE(conditional);
        manual_seed(31);
        GatedPixelCnnNet net(tiny_net(conditional ? 10 : 0));
        {  // Sharper softmaxes: a wrong window then changes the drawn levels, not just the logits.
            autograd::NoGradGuard no_grad;
            net.head_out->weight.mul_(30.0);
        }
        Tensor labels = conditional ? from_vector(std::vector<int64_t>{3, 9, 0}) : Tensor();
        Tensor uniforms = rand({3, 11, 12}, {DType::Float64});
        auto draw = [&](GatedSampler which) {
            return models::sample_gated(net, zeros({3, 1, 11, 12}), labels, 0, uniforms, which, Device::CPU);
        };
        Tensor naive = draw(GatedSampler::Naive);
        CHECK(amax(naive).item() > 0.5);  // not a blank canvas
        CHECK(amax(abs(sub(naive, draw(GatedSampler::Rows)))).item() == 0.0);
        CHECK(amax(abs(sub(naive, draw(GatedSampler::Cached)))).item() == 0.0);
    }
    // Through the model: the same seed, the same completions; kept rows stay as they were.
    auto model = tiny_model(true);
    Tensor images = level_images(2);
    Tensor labels = from_vector(std::vector<int64_t>{4, 8});
    auto complete = [&](GatedSampler which) {
        model->set_sampler(which);
        manual_seed(23);
        return model->complete(images, labels, 25, 2);
    };
    Tensor a = complete(GatedSampler::Naive);
    REQUIRE(a.shape() == Shape({4, 1, 28, 28}));
    CHECK(amax(abs(sub(a, complete(GatedSampler::Rows)))).item() == 0.0);
    CHECK(amax(abs(sub(a, complete(GatedSampler::Cached)))).item() == 0.0);
    for (int64_t i = 0; i < 4; ++i)
        CHECK(amax(abs(sub(a.select(0, i).slice(1, 0, 25), images.select(0, i / 2).slice(1, 0, 25)))).item() == 0.0);
    CHECK(amax(abs(sub(a.select(0, 0), a.select(0, 1)))).item() > 0.0);  // two different completions
    manual_seed(23);
    Tensor s = model->sample(2);
    CHECK(s.shape() == Shape({2, 1, 28, 28}));
    CHECK(amin(s).item() >= 0.0);
    CHECK(amax(s).item() <= 1.0);
}

TEST_CASE("gated-pixelcnn: steps lower the loss; likelihood matches a log-softmax by hand") {
    auto model = tiny_model(false);
    CHECK(model->name() == "gated-pixelcnn");
    CHECK(model->data_spec().range == data::PixelRange::ZeroOne);
    manual_seed(2);
    data::Batch b;
    // Smooth images (a gradient plus a little noise), so there is something to learn.
    Tensor ramp = arange(0, 28).view({1, 1, 1, 28}).expand({8, 1, 28, 28});
    b.images = clamp(add(mul(ramp, 1.0 / 27.0), rand({8, 1, 28, 28}, {}, -0.05, 0.05)), 0.0, 1.0);
    b.images = div(GatedPixelCnn::levels_of(b.images).view({8, 1, 28, 28}).to(DType::Float32), 255.0);
    models::Metrics first = model->train_step(b), last;
    REQUIRE(first[0].first == "loss");
    REQUIRE(first[1].first == "bits_per_dim");
    CHECK(first[1].second == doctest::Approx(first[0].second / std::numbers::ln2));
    for (int i = 0; i < 5; ++i) last = model->train_step(b);
    CHECK(last[0].second < first[0].second);

    // likelihood(): per-image nats, summed over pixels of -log softmax(logits)[target], by hand.
    Tensor images = b.images.slice(0, 0, 5);
    double nats = 0;
    {
        autograd::NoGradGuard no_grad;
        std::vector<float> logits = model->net().forward(images, Tensor()).to_vector<float>();
        std::vector<int64_t> target = GatedPixelCnn::levels_of(images).to_vector<int64_t>();
        const int64_t hw = 28 * 28;
        for (int64_t i = 0; i < 5; ++i)
            for (int64_t p = 0; p < hw; ++p) {
                auto at = [&](int64_t k) { return double(logits[size_t((i * 256 + k) * hw + p)]); };
                double top = -INFINITY, total = 0;
                for (int64_t k = 0; k < 256; ++k) top = std::max(top, at(k));
                for (int64_t k = 0; k < 256; ++k) total += std::exp(at(k) - top);
                nats += top + std::log(total) - at(target[size_t(i * hw + p)]);
            }
        nats /= 5;
    }
    models::Metrics m = model->likelihood(images, Tensor(), {});
    REQUIRE(m.size() == 3);
    CHECK(m[0].first == "nll_nats");
    CHECK(m[0].second == doctest::Approx(nats).epsilon(1e-5));
    CHECK(m[1].second == doctest::Approx(nats / 784 / std::numbers::ln2).epsilon(1e-5));
    CHECK(m[2].second == doctest::Approx(nats / 784).epsilon(1e-5));

    // Batching does not change it.
    models::ModelConfig c;
    c.seed = 3;
    c.options = {{"width", 8}, {"layers", 3}, {"first_kernel", 5}, {"kernel", 3}, {"head_channels", 16},
                 {"eval_batch", 2}};
    GatedPixelCnn small_batches(c, false);
    small_batches.net().load_state_dict(model->net().state_dict());
    CHECK(small_batches.likelihood(images, Tensor(), {})[0].second == doctest::Approx(nats).epsilon(1e-5));
}

TEST_CASE("gated-pixelcnn: options are checked and reported") {
    auto model = tiny_model(false);
    nlohmann::json cfg = model->config();
    CHECK(cfg["width"] == 8);
    CHECK(cfg["sampler"] == "cached");
    CHECK(model->net().receptive_radius() == 5 / 2 + 2 * (3 / 2));
    // config() read back as options (what `minigen sample` does with a checkpoint) builds the same model.
    cfg.erase("seed");
    cfg.erase("device");
    models::ModelConfig again;
    again.options = cfg;
    again.seed = 3;
    CHECK(GatedPixelCnn(again, false).config() == model->config());
    models::ModelConfig c;
    c.options = {{"chanels", 8}};
    CHECK(test::error_of([&] { GatedPixelCnn m(c, false); }).find("unknown option 'chanels'") != std::string::npos);
    c.options = {{"kernel", 4}};
    CHECK(test::error_of([&] { GatedPixelCnn m(c, false); }).find("odd") != std::string::npos);
    c.options = {{"sampler", "fast"}};
    CHECK(test::error_of([&] { GatedPixelCnn m(c, false); }).find("naive, rows, cached") != std::string::npos);
    CHECK(test::error_of([&] { model->sample_with_labels(from_vector(std::vector<int64_t>{1})); })
              .find("not class-conditional") != std::string::npos);
    CHECK(test::error_of([&] { model->likelihood(full({1, 1, 28, 28}, 2.0), Tensor(), {}); }).find("outside [0, 1]") !=
          std::string::npos);
}
