// pixelcnn: the causal masks, the causality of the whole network (by its gradients),
// one training step against PyTorch, the two samplers drawing identical images,
// completion, and the likelihood against a brute-force sum.
#include <cmath>
#include <numbers>
#include <set>

#include "core/gradcheck.h"
#include "core/minigen.h"
#include "fixture_reader.h"
#include "helpers.h"
#include "kernels/masked_conv.h"
#include "models/pixelcnn/pixelcnn.h"
#include "models/registry.h"

using namespace mg;
using namespace mg::models::pixelcnn;
using mg::test::check_close;
using mg::test::error_of;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The rule itself, written out: tap (dy, dx) from the centre is visible to mask A iff it
// comes before the centre in raster order; B also sees the centre.
bool visible(int64_t dy, int64_t dx, char type) { return dy < 0 || (dy == 0 && (dx < 0 || (dx == 0 && type == 'B'))); }

// BatchNorm starts at weight 1, bias 0, mean 0, var 1: move every value away from
// those, so that a sampler or likelihood that mishandles one of them is caught.
void randomize_norms(PixelCnnNet& net) {
    autograd::NoGradGuard no_grad;
    for (auto& bn : net.norms) {
        nn::init::uniform_(bn->weight, 0.5, 1.5);
        nn::init::normal_(bn->bias, 0.0, 0.3);
        nn::init::normal_(bn->running_mean, 0.0, 0.3);
        nn::init::uniform_(bn->running_var, 0.5, 2.0);
    }
}

models::ModelConfig small_config(int64_t channels, int64_t layers, int64_t kernel, const std::string& sampler = "cached") {
    models::ModelConfig c;
    c.options = {{"width", channels}, {"layers", layers}, {"kernel", kernel}, {"sampler", sampler}};
    return c;
}

// Random grey-level images [n, 1, h, w]: levels / 255.
Tensor random_images(int64_t n, int64_t h = 28, int64_t w = 28) {
    return div(randint(0, 256, {n, 1, h, w}).to(DType::Float32), 255.0);
}

// Indices (raster order) of the pixels of a [1, 1, H, W] gradient that are not zero.
std::set<int64_t> nonzero_pixels(const Tensor& grad) {
    std::set<int64_t> out;
    std::vector<double> g = grad.to_vector<double>();
    for (size_t j = 0; j < g.size(); ++j)
        if (g[j] != 0.0) out.insert(int64_t(j));
    return out;
}

double relative_error(const Tensor& got, const Tensor& want) {
    std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
    REQUIRE(a.size() == b.size());
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

double max_abs_difference(const Tensor& got, const Tensor& want) {
    std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
    REQUIRE(a.size() == b.size());
    double diff = 0.0;
    for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
    return diff;
}

}  // namespace

TEST_CASE("pixelcnn: causal_mask keeps exactly the taps before the centre in raster order") {
    for (int64_t k : {1, 3, 5, 7})
        for (char type : {'A', 'B'}) {
            CAPTURE(k);
            CAPTURE(type);
            Tensor m = causal_mask(2, 3, k, type);
            REQUIRE(m.shape() == Shape{2, 3, k, k});
            std::vector<float> v = m.to_vector<float>();
            int64_t kept = 0;
            for (int64_t o = 0; o < 2; ++o)
                for (int64_t i = 0; i < 3; ++i)
                    for (int64_t y = 0; y < k; ++y)
                        for (int64_t x = 0; x < k; ++x) {
                            float want = visible(y - k / 2, x - k / 2, type) ? 1.0f : 0.0f;
                            CHECK(v[size_t(((o * 3 + i) * k + y) * k + x)] == want);
                            kept += want != 0.0f && o == 0 && i == 0;
                        }
            CHECK(kept == (k * k - 1) / 2 + (type == 'B'));
        }
    // The 7x7 picture of docs/pixelcnn.md, type A.
    const char* picture_a = "#######"
                            "#######"
                            "#######"
                            "###...."
                            "......."
                            "......."
                            ".......";
    std::vector<float> a = causal_mask(1, 1, 7, 'A').to_vector<float>();
    for (size_t t = 0; t < 49; ++t) CHECK(a[t] == (picture_a[t] == '#' ? 1.0f : 0.0f));
    CHECK(contains(error_of([] { causal_mask(1, 1, 3, 'C'); }), "'A' or 'B'"));
    CHECK(contains(error_of([] { causal_mask(1, 1, 4, 'A'); }), "odd"));
    CHECK(contains(error_of([] { causal_mask(0, 1, 3, 'A'); }), "positive"));
}

TEST_CASE("pixelcnn: MaskedConv2d is conv2d with the masked weight; masked taps get no gradient and stay put") {
    manual_seed(11);
    MaskedConv2d conv(3, 4, 5, 'B', /*bias=*/true);
    CHECK(conv.repr() == "MaskedConv2d('B', 3, 4, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))");
    CHECK(conv.state_dict().keys() == std::vector<std::string>{"weight", "bias", "mask"});
    CHECK(!conv.mask.requires_grad());

    // The reference zeroes the hidden taps of a copy of the weight by the rule, in a loop.
    Tensor w = conv.weight.detach().clone();
    {
        float* pw = w.data<float>();
        for (int64_t t = 0; t < w.numel(); ++t)
            if (!visible((t / 5) % 5 - 2, t % 5 - 2, 'B')) pw[t] = 0.0f;
    }
    Tensor x = randn({2, 3, 6, 6});
    Tensor y = conv(x);
    check_close(y, conv2d(x, w, conv.bias.detach(), Conv2dOptions{1, 2}), 1e-5, 1e-6);

    sum(mul(y, randn(y.shape()))).backward();
    std::vector<float> g = conv.weight.grad().to_vector<float>();
    std::vector<float> before = conv.weight.to_vector<float>();
    int64_t kept_nonzero = 0;
    for (size_t t = 0; t < g.size(); ++t) {
        if (!visible(int64_t(t / 5) % 5 - 2, int64_t(t) % 5 - 2, 'B')) CHECK(g[t] == 0.0f);
        else kept_nonzero += g[t] != 0.0f;
    }
    CHECK(kept_nonzero == 4 * 3 * 13);
    optim::Adam adam(conv.parameters());
    adam.step();
    std::vector<float> after = conv.weight.to_vector<float>();
    for (size_t t = 0; t < after.size(); ++t) {
        if (!visible(int64_t(t / 5) % 5 - 2, int64_t(t) % 5 - 2, 'B')) CHECK(after[t] == before[t]);
        else CHECK(after[t] != before[t]);
    }
}

// Output pixel i of the whole network may depend only on input pixels j < i: the gradient
// of its logits with respect to the image is exactly zero at every j >= i, and not zero
// at its left neighbour and the pixel above (so an all-zero mask fails too).
TEST_CASE("pixelcnn: the whole network is causal (gradients of one output pixel)") {
    manual_seed(12);
    PixelCnnNet net(NetShape{});  // workloads.md's size: 64 channels, 7 + 1 blocks, 7x7
    randomize_norms(net);
    net.eval();  // running statistics: BatchNorm mixes no positions
    for (Tensor& p : net.parameters()) p.requires_grad_(false);  // input gradients only
    Tensor x = rand({1, 1, 28, 28}).requires_grad_();
    Tensor logits = net(x);  // [1, 256, 28, 28]
    const std::vector<std::pair<int64_t, int64_t>> pixels = {{0, 0},  {0, 1},   {0, 27}, {1, 0},
                                                             {13, 27}, {14, 14}, {27, 0}, {27, 27}};
    for (auto [r, c] : pixels) {
        CAPTURE(r);
        CAPTURE(c);
        const int64_t i = r * 28 + c;
        Tensor out = sum(logits.select(0, 0).select(1, r).select(1, c));  // the sum of its 256 logits
        Tensor g = autograd::grad({out}, {x}, {}, /*retain_graph=*/true)[0];
        std::set<int64_t> seen = nonzero_pixels(g);
        CHECK((seen.empty() || *seen.rbegin() < i));
        if (c > 0) CHECK(seen.count(i - 1));
        if (r > 0) CHECK(seen.count(i - 28));
        if (i > 0) CHECK(seen.size() >= 1);
    }
    // One logit alone follows the same rule.
    Tensor one = logits.select(0, 0).select(0, 17).select(0, 5).select(0, 9);
    std::set<int64_t> seen = nonzero_pixels(autograd::grad({one}, {x})[0]);
    CHECK(!seen.empty());
    CHECK(*seen.rbegin() < 5 * 28 + 9);
}

// Three masked layers (A, B, B; 3x3) without BatchNorm or ReLU are linear: the input
// pixels with a non-zero gradient are exactly those reachable through visible taps,
// computed here by walking the taps (which also shows the PixelCNN's blind spot: the
// pixels up and to the right that no path reaches).
TEST_CASE("pixelcnn: a stack of masked layers sees exactly its causal receptive field") {
    manual_seed(13);
    nn::Sequential stack(std::make_shared<MaskedConv2d>(1, 3, 3, 'A'), std::make_shared<MaskedConv2d>(3, 3, 3, 'B'),
                         std::make_shared<MaskedConv2d>(3, 2, 3, 'B'));
    stack.to(DType::Float64);
    const int64_t h = 9, w = 9;
    Tensor x = randn({1, 1, h, w}, {DType::Float64}).requires_grad_();
    Tensor y = stack(x);
    for (auto [r, c] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 4}, {3, 0}, {4, 4}, {8, 8}, {5, 8}}) {
        CAPTURE(r);
        CAPTURE(c);
        // Positions reachable from (r, c) back through layers B, B, then A.
        std::set<std::pair<int64_t, int64_t>> front = {{r, c}};
        for (char type : {'B', 'B', 'A'}) {
            std::set<std::pair<int64_t, int64_t>> next;
            for (auto [pr, pc] : front)
                for (int64_t dy = -1; dy <= 1; ++dy)
                    for (int64_t dx = -1; dx <= 1; ++dx)
                        if (visible(dy, dx, type) && pr + dy >= 0 && pr + dy < h && pc + dx >= 0 && pc + dx < w)
                            next.insert({pr + dy, pc + dx});
            front = next;
        }
        std::set<int64_t> want;
        for (auto [pr, pc] : front) want.insert(pr * w + pc);
        Tensor g = autograd::grad({sum(y.select(0, 0).select(1, r).select(1, c))}, {x}, {}, true)[0];
        CHECK(nonzero_pixels(g) == want);
        for (int64_t j : want) CHECK(j < r * w + c);
    }
}

TEST_CASE("pixelcnn vs PyTorch: one training step (loss, every gradient, Adam's update, BatchNorm statistics)") {
    test::Fixture f = test::read_fixture(std::string(MINIGEN_SOURCE_DIR) +
                                         "/tests/reference/fixtures/pixelcnn_step.safetensors");
    models::ModelConfig config = small_config(std::stoll(f.meta("channels")), std::stoll(f.meta("layers")),
                                              std::stoll(f.meta("kernel")));
    config.lr = std::stod(f.meta("lr"));
    PixelCnnModel model(config);
    PixelCnnNet& net = model.net();
    // The same structure as PyTorch's nn.Sequential (the first line names the class).
    std::string ours = net.repr(), theirs = f.meta("repr");
    CHECK(ours.substr(ours.find('\n')) == theirs.substr(theirs.find('\n')));

    nn::StateDict state;
    for (const auto& [key, t] : f.tensors)
        if (key.rfind("state.", 0) == 0) state.insert(key.substr(6), t);
    for (const auto& [name, b] : net.named_buffers())  // masks are built, not learned: ours must already match
        if (name.size() > 5 && name.substr(name.size() - 5) == ".mask") CHECK(b.to_vector<float>() == f.at("state." + name).to_vector<float>());
    net.load_state_dict(state);

    data::Batch batch;
    batch.images = f.at("input");
    CHECK(levels_of(batch.images).to_vector<int64_t>() == f.at("target").to_vector<int64_t>());
    models::Metrics m = model.train_step(batch);
    REQUIRE(m.size() == 2);
    CHECK(m[0].first == "loss");
    CHECK(m[0].second == doctest::Approx(f.at("loss").item()).epsilon(1e-5));
    CHECK(m[1].first == "bits_per_dim");
    CHECK(m[1].second == doctest::Approx(f.at("loss").item() / std::numbers::ln2).epsilon(1e-5));

    int64_t checked = 0;
    for (const auto& [name, p] : net.named_parameters()) {
        CAPTURE(name);
        REQUIRE(p.grad().defined());
        CHECK(relative_error(p.grad(), f.at("grad." + name)) < 1e-4);
        // Adam's first step moves each weight by lr * g / (|g| + eps): about lr, but a weight
        // whose gradient is near eps (one here has |g| = 1e-8) moves by a fraction that
        // float32 rounding of g shifts. So: within 2% of one step (a sign flip is 200%).
        CHECK(max_abs_difference(p, f.at("after." + name)) < 0.02 * config.lr);
        ++checked;
    }
    for (const auto& [name, b] : net.named_buffers()) {
        if (name.size() > 5 && name.substr(name.size() - 5) == ".mask") continue;
        CAPTURE(name);
        if (b.dtype() == DType::Int64) CHECK(b.item() == f.at("after." + name).item());
        else CHECK(relative_error(b, f.at("after." + name)) < 1e-5);
        ++checked;
    }
    CHECK(checked == 8 + 8 * 2 + 2 + 8 * 3);  // conv weights, BN affine, head, BN statistics
}

TEST_CASE("pixelcnn: draw_level is the inverse CDF of the softmax") {
    // p = 0.1, 0.2, 0.3, 0.4, shifted by 100 (the max is subtracted before exp).
    std::vector<float> logits;
    for (double p : {0.1, 0.2, 0.3, 0.4}) logits.push_back(float(100.0 + std::log(p)));
    const std::vector<std::pair<double, int64_t>> cases = {{0.0, 0},    {0.0999, 0}, {0.1001, 1}, {0.2999, 1},
                                                           {0.3001, 2}, {0.5999, 2}, {0.6001, 3}, {0.99999, 3}};
    for (auto [u, level] : cases) {
        CAPTURE(u);
        CHECK(draw_level(logits.data(), 4, u) == level);
    }
    // A level of probability 0 is never drawn, even at its CDF step.
    std::vector<float> gap = {0.0f, -1e30f, 0.0f};
    CHECK(draw_level(gap.data(), 3, 0.5) == 2);
    CHECK(draw_level(gap.data(), 3, 0.4999) == 0);
    std::vector<float> bad = {0.0f, std::nanf("")};
    CHECK(contains(error_of([&] { draw_level(bad.data(), 2, 0.5); }), "not finite"));
}

// The cached sampler computes one position per layer per pixel; the naive one runs the
// whole network per pixel. With the same uniforms they must draw the same images. And
// each drawn pixel is the inverse CDF of the logits that one forward pass over the
// finished image gives at that pixel (which depend only on the pixels before it).
TEST_CASE("pixelcnn: the naive and cached samplers draw identical images, from the model's conditionals") {
    manual_seed(14);
    const int64_t h = 10, w = 9, n = 3;
    for (int64_t kernel : {3, 7}) {
        CAPTURE(kernel);
        PixelCnnNet net(NetShape{8, 3, kernel, 256});
        randomize_norms(net);
        Tensor context = random_images(n, h, w);
        Tensor u = rand({n, h * w}, {DType::Float64});
        for (int64_t first : {int64_t(0), int64_t(23)}) {
            CAPTURE(first);
            Tensor naive = sample_pixels(net, context, first, u, SamplerKind::Naive);
            Tensor cached = sample_pixels(net, context, first, u, SamplerKind::Cached);
            CHECK(net.is_training());  // the mode is put back
            REQUIRE(cached.shape() == Shape{n, 1, h, w});
            CHECK(naive.to_vector<float>() == cached.to_vector<float>());

            net.eval();
            Tensor logits;
            {
                autograd::NoGradGuard no_grad;
                logits = net(cached).permute({0, 2, 3, 1}).contiguous();  // [n, h, w, 256]
            }
            net.train();
            std::vector<float> l = logits.to_vector<float>(), px = cached.to_vector<float>(),
                               given = context.to_vector<float>();
            std::vector<double> uu = u.to_vector<double>();
            int64_t differ_from_context = 0;
            for (int64_t i = 0; i < n; ++i)
                for (int64_t p = 0; p < h * w; ++p) {
                    const size_t at = size_t(i * h * w + p);
                    if (p < first) {
                        CHECK(px[at] == given[at]);
                        continue;
                    }
                    int64_t level = draw_level(l.data() + at * 256, 256, uu[at]);
                    CHECK(px[at] == float(level) / 255.0f);
                    differ_from_context += px[at] != given[at];
                }
            CHECK(differ_from_context > 0);
        }
    }
}

TEST_CASE("pixelcnn: sample() is the same with either sampler for a seed, in levels / 255") {
    auto naive = std::make_unique<models::pixelcnn::PixelCnnModel>(small_config(4, 1, 3, "naive"));
    auto cached = std::make_unique<models::pixelcnn::PixelCnnModel>(small_config(4, 1, 3, "cached"));
    manual_seed(15);
    Tensor a = naive->sample(2);
    manual_seed(15);
    Tensor b = cached->sample(2);
    REQUIRE(b.shape() == Shape{2, 1, 28, 28});
    CHECK(a.to_vector<float>() == b.to_vector<float>());
    std::set<int64_t> levels;
    for (float v : b.to_vector<float>()) {
        float level = std::round(v * 255.0f);
        CHECK(v == level / 255.0f);
        levels.insert(int64_t(level));
    }
    CHECK(levels.size() > 50);  // an untrained model's softmax is broad
    Tensor c = cached->sample(2);  // the generator moved on: other images
    CHECK(c.to_vector<float>() != b.to_vector<float>());
}

TEST_CASE("pixelcnn: complete() keeps the first rows and samples the rest, per_image times each") {
    manual_seed(16);
    auto model = std::make_unique<models::pixelcnn::PixelCnnModel>(small_config(4, 1, 3));
    Tensor images = random_images(2);
    Tensor out = model->complete(images, Tensor(), 10, 3);
    REQUIRE(out.shape() == Shape{6, 1, 28, 28});
    std::vector<float> in = images.to_vector<float>(), got = out.to_vector<float>();
    for (int64_t k = 0; k < 6; ++k) {
        const int64_t i = k / 3;
        for (int64_t p = 0; p < 10 * 28; ++p) CHECK(got[size_t(k * 784 + p)] == in[size_t(i * 784 + p)]);
        for (int64_t p = 10 * 28; p < 784; ++p) {
            float v = got[size_t(k * 784 + p)];
            CHECK(v == std::round(v * 255.0f) / 255.0f);
        }
    }
    // Completions of one image differ from each other.
    CHECK(std::vector<float>(got.begin() + 784 * 0 + 280, got.begin() + 784) !=
          std::vector<float>(got.begin() + 784 * 1 + 280, got.begin() + 784 * 2));
    // Keeping every row changes nothing.
    CHECK(model->complete(images, Tensor(), 28, 1).to_vector<float>() == in);
    CHECK(contains(error_of([&] { model->complete(images, Tensor(), 29, 1); }), "keep_rows"));
    CHECK(contains(error_of([&] { model->complete(images, Tensor(), 5, 0); }), "per_image"));
    CHECK(contains(error_of([&] { model->complete(rand({2, 1, 14, 14}), Tensor(), 5, 1); }), "[N, 1, 28, 28]"));
}

TEST_CASE("pixelcnn: likelihood() is the summed cross-entropy in eval mode, per image and in bits/dim") {
    manual_seed(17);
    models::ModelConfig config = small_config(6, 2, 5);
    config.options["eval_batch"] = 2;  // 5 images: batches of 2, 2, 1
    PixelCnnModel model(config);
    randomize_norms(model.net());
    Tensor images = random_images(5);
    std::vector<float> mean_before = model.net().norms[0]->running_mean.to_vector<float>();
    models::Metrics m = model.likelihood(images, Tensor(), {});
    CHECK(model.net().is_training());
    CHECK(model.net().norms[0]->running_mean.to_vector<float>() == mean_before);

    // Brute force: logsumexp - logit of the pixel's level, in float64, over every pixel.
    model.net().eval();
    Tensor logits;
    {
        autograd::NoGradGuard no_grad;
        logits = model.net()(images).permute({0, 2, 3, 1}).contiguous();
    }
    std::vector<float> l = logits.to_vector<float>();
    std::vector<int64_t> target = levels_of(images).to_vector<int64_t>();
    double total = 0.0;
    for (size_t p = 0; p < target.size(); ++p) {
        const float* row = l.data() + p * 256;
        double top = *std::max_element(row, row + 256), s = 0.0;
        for (int k = 0; k < 256; ++k) s += std::exp(double(row[k]) - top);
        total += top + std::log(s) - double(row[target[p]]);
    }
    REQUIRE(m.size() == 3);
    CHECK(m[0].first == "nll_nats");
    CHECK(m[0].second == doctest::Approx(total / 5).epsilon(1e-5));
    CHECK(m[1].first == "nll_bits_per_dim");
    CHECK(m[1].second == doctest::Approx(total / 5 / (784 * std::numbers::ln2)).epsilon(1e-5));
    CHECK(m[2].first == "nll_nats_per_dim");
    CHECK(m[2].second == doctest::Approx(total / 5 / 784).epsilon(1e-5));
    CHECK(contains(error_of([&] { model.likelihood(add(images, 0.3), Tensor(), {}); }), "not one of the levels"));
}

TEST_CASE("pixelcnn: training steps on one batch lower its loss; options are checked") {
    manual_seed(18);
    models::ModelConfig config = small_config(8, 1, 3);
    config.lr = 1e-2;  // a few steps should show
    auto model = models::find_model("pixelcnn").create(config);
    data::Batch batch;
    batch.images = randint(0, 2, {4, 1, 28, 28}).to(DType::Float32);  // black and white: levels 0 and 255
    models::Metrics first = model->train_step(batch), last;
    for (int i = 0; i < 5; ++i) last = model->train_step(batch);
    CHECK(first[1].second == doctest::Approx(first[0].second / std::numbers::ln2));
    CHECK(last[0].second < first[0].second - 0.1);

    // The configuration round-trips: a model built from config() has the same one.
    nlohmann::json cfg = model->config();
    CHECK(cfg["width"] == 8);
    CHECK(cfg["channels"] == 1);  // the images'
    CHECK(cfg["sampler"] == "cached");
    models::ModelConfig again;
    again.options = cfg;
    again.options.erase("seed");
    again.options.erase("device");
    CHECK(models::find_model("pixelcnn").create(again)->config() == cfg);

    auto make = [](nlohmann::json options) {
        models::ModelConfig c;
        c.options = std::move(options);
        return error_of([&] { models::find_model("pixelcnn").create(c); });
    };
    CHECK(contains(make({{"depth", 3}}), "unknown option 'depth'"));
    CHECK(contains(make({{"channels", 3}}), "Fashion-MNIST is grey"));
    // A checkpoint written before the image options named the width "channels".
    models::ModelConfig old;
    old.options = {{"channels", 16}, {"layers", 2}, {"kernel", 3}};
    CHECK(models::find_model("pixelcnn").create(old)->config()["width"] == 16);
    CHECK(contains(make({{"sampler", "fast"}}), "unknown sampler 'fast'"));
    CHECK(contains(make({{"kernel", 4}}), "odd"));
    CHECK(contains(make({{"channels", "many"}}), "wrong type"));
}

TEST_CASE("pixelcnn: the default network is workloads.md's, named as PyTorch's nn.Sequential") {
    auto model = models::find_model("pixelcnn").create({});
    auto& net = dynamic_cast<PixelCnnModel&>(*model).net();
    CHECK(model->batch_size() == 64);
    CHECK(net.convs.size() == 8);
    CHECK(net.convs[0]->mask_type == 'A');
    CHECK(net.convs[7]->mask_type == 'B');
    CHECK(net.num_parameters() == 64 * 49 + 7 * 64 * 64 * 49 + 8 * 2 * 64 + 64 * 256 + 256);
    std::vector<std::string> keys = net.state_dict().keys();
    CHECK(keys.front() == "0.weight");
    CHECK(keys[1] == "0.mask");
    CHECK(keys.back() == "24.bias");
}

// ---- the mask-aware convolution (core/ops/masked_conv.cpp, kernels/cpu/conv_masked.cpp) ----

namespace {

struct MaskedCase {
    int64_t n, c_in, h, w, c_out, k;
    char type;
};

// conv2d with the explicitly masked weight: the oracle for the op's three faces.
struct DenseFaces {
    Tensor y, gx, gw;
};
DenseFaces dense_faces(const Tensor& x, const Tensor& w, const Tensor& gy, const MaskedCase& c) {
    Tensor mask = causal_mask(c.c_out, c.c_in, c.k, c.type).to(x.dtype());
    Conv2dOptions o;
    o.padding = c.k / 2;
    Tensor wm = mul(w, mask);
    return {conv2d(x, wm, {}, o), conv_transpose2d(gy, wm, {}, o),
            mul(conv2d_backward_weight(x, gy, w.shape(), o), mask)};
}

const std::vector<MaskedCase> kMaskedCases = {
    {1, 1, 5, 5, 2, 3, 'A'},  // one image: the GEMM threads instead of the images
    {3, 2, 6, 4, 3, 5, 'B'},  // non-square
    {2, 3, 4, 3, 2, 7, 'A'},  // the kernel is larger than the image
    {5, 4, 7, 7, 3, 7, 'B'},  // more images than threads: per-thread partial weight gradients
    {4, 1, 28, 28, 4, 7, 'A'},
};

}  // namespace

TEST_CASE("masked_conv2d: both kernel variants equal conv2d with the masked weight, all three faces") {
    namespace K = kernels;
    manual_seed(21);
    (void)masked_conv2d(zeros({1, 1, 3, 3}), zeros({1, 1, 3, 3}), 'A');  // registers the kernels
    for (const MaskedCase& c : kMaskedCases)
        for (DType dtype : {DType::Float64, DType::Float32}) {
            CAPTURE(c.n);
            CAPTURE(c.k);
            CAPTURE(c.type);
            CAPTURE(dtype);
            const double tol = dtype == DType::Float64 ? 1e-12 : 2e-5;
            Tensor x = randn({c.n, c.c_in, c.h, c.w}, {dtype});
            Tensor w = randn({c.c_out, c.c_in, c.k, c.k}, {dtype});
            Tensor gy = randn({c.n, c.c_out, c.h, c.w}, {dtype});
            DenseFaces want = dense_faces(x, w, gy, c);
            // The hidden taps are never read: NaN there changes nothing.
            Tensor w_nan = w.clone();
            {
                Tensor mask = causal_mask(c.c_out, c.c_in, c.k, c.type).to(dtype);
                w_nan = where(eq(mask, zeros_like(mask)), full_like(w, std::nan("")), w);
            }
            K::MaskedConv2dShape s{c.n, c.c_in, c.h, c.w, c.c_out, c.k, c.type};
            // Every variant each face has ("implicit" is float32 only, where AVX-512 is).
            for (const char* variant : {"reference", "im2col", "implicit"}) {
                CAPTURE(variant);
                Tensor y = empty(want.y.shape(), {dtype}), gx = empty(x.shape(), {dtype}), gw = empty(w.shape(), {dtype});
                if (K::masked_conv2d_forward_table().has(variant, Device::CPU, dtype)) {
                    K::masked_conv2d_forward_table().get(variant, Device::CPU, dtype)(s, x.raw_data(), w_nan.raw_data(), y.raw_data());
                    check_close(y, want.y, tol, tol);
                }
                if (K::masked_conv2d_backward_input_table().has(variant, Device::CPU, dtype)) {
                    K::masked_conv2d_backward_input_table().get(variant, Device::CPU, dtype)(s, gy.raw_data(), w_nan.raw_data(), gx.raw_data());
                    check_close(gx, want.gx, tol, tol);
                }
                if (K::masked_conv2d_backward_weight_table().has(variant, Device::CPU, dtype)) {
                    K::masked_conv2d_backward_weight_table().get(variant, Device::CPU, dtype)(s, x.raw_data(), gy.raw_data(), gw.raw_data());
                    check_close(gw, want.gw, tol, tol);  // exactly 0 at the hidden taps (atol only where want is 0)
                    std::vector<double> g = gw.to_vector<double>(), m = causal_mask(c.c_out, c.c_in, c.k, c.type).to_vector<double>();
                    for (size_t i = 0; i < g.size(); ++i)
                        if (m[i] == 0.0) CHECK(g[i] == 0.0);
                }
            }
            // The ops, with autograd: the same numbers.
            Tensor xg = x.clone().requires_grad_(), wg = w.clone().requires_grad_();
            Tensor y = masked_conv2d(xg, wg, c.type);
            check_close(y, want.y, tol, tol);
            sum(mul(y, gy)).backward();
            check_close(xg.grad(), want.gx, tol, tol);
            check_close(wg.grad(), want.gw, tol, tol);
            check_close(masked_conv2d_backward_input(gy, w, c.type), want.gx, tol, tol);
            check_close(masked_conv2d_backward_weight(x, gy, c.k, c.type), want.gw, tol, tol);
        }
    CHECK(contains(error_of([] { masked_conv2d(zeros({1, 2, 4, 4}), zeros({1, 3, 3, 3}), 'A'); }), "does not match"));
    CHECK(contains(error_of([] { masked_conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 4, 4}), 'A'); }), "odd"));
    CHECK(contains(error_of([] { masked_conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), 'C'); }), "'A' or 'B'"));
    CHECK(contains(error_of([] { masked_conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 2}), 'A'); }), "[C_out, C_in, k, k]"));
}

TEST_CASE("masked_conv2d: gradcheck and gradgradcheck of its three faces (float64)") {
    manual_seed(22);
    auto in = [](const Shape& s) { return rand(s, {DType::Float64}, -1.0, 1.0).requires_grad_(); };
    for (char type : {'A', 'B'}) {
        CAPTURE(type);
        std::vector<Tensor> fwd = {in({2, 2, 4, 5}), in({3, 2, 3, 3})};
        TensorFn f = [type](const std::vector<Tensor>& v) { return masked_conv2d(v[0], v[1], type); };
        GradcheckResult r1 = gradcheck(f, fwd), r2 = gradgradcheck(f, fwd);
        INFO(r1.message << " " << r2.message);
        CHECK(r1.ok);
        CHECK(r2.ok);

        std::vector<Tensor> bin = {in({2, 3, 4, 5}), in({3, 2, 5, 5})};
        TensorFn fb = [type](const std::vector<Tensor>& v) { return masked_conv2d_backward_input(v[0], v[1], type); };
        GradcheckResult r3 = gradgradcheck(fb, bin);
        INFO(r3.message);
        CHECK(r3.ok);

        std::vector<Tensor> bw = {in({2, 2, 4, 5}), in({2, 3, 4, 5})};
        TensorFn fw = [type](const std::vector<Tensor>& v) { return masked_conv2d_backward_weight(v[0], v[1], 3, type); };
        GradcheckResult r4 = gradgradcheck(fw, bw);
        INFO(r4.message);
        CHECK(r4.ok);
    }
}
