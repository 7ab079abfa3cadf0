// imagegpt: the network's shapes, its causality by autograd, the KV-cache step against the
// full forward, the two samplers drawing identical tokens, k-means on tiny sets by hand,
// training and likelihood, the palette in the checkpoint, and bad input.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "core/minigen.h"
#include "helpers.h"
#include "models/health.h"
#include "models/imagegpt/imagegpt.h"
#include "models/receptive_field.h"
#include "models/registry.h"

using namespace mg;
using namespace mg::models::imagegpt;
using mg::test::contains;
using mg::test::error_of;
using mg::test::metric;

namespace {

ImageGptShape tiny_shape() { return {.vocab = 16, .max_len = 24, .width = 16, .heads = 2, .layers = 2}; }

std::unique_ptr<models::Model> make_model(nlohmann::json options, uint64_t seed = 4) {
    models::ModelConfig c;
    c.seed = seed;
    c.options = std::move(options);
    return models::find_model("imagegpt").create(c);
}

std::vector<float> sorted(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("imagegpt: shapes, and the KV-cache step gives the full forward's logits") {
    manual_seed(41);
    ImageGptNet net(tiny_shape());
    Tensor tokens = randint(0, 16, {3, 20});
    Tensor input = net.shift_right(tokens);
    CHECK(input.shape() == Shape{3, 20});
    CHECK(input.to_vector<int64_t>()[0] == 16);  // the start token
    CHECK(input.to_vector<int64_t>()[1] == tokens.to_vector<int64_t>()[0]);
    Tensor logits = net(input);
    CHECK(logits.shape() == Shape{3, 20, 16});
    autograd::NoGradGuard no_grad;
    std::vector<KvCache> caches = net.empty_caches(3);
    REQUIRE(caches.size() == 2);
    CHECK(caches[0].k.shape() == Shape{3, 2, 24, 8});
    for (int64_t p = 0; p < 20; ++p) {
        CAPTURE(p);
        Tensor step = net.step(input.select(1, p).contiguous(), p, caches);
        CHECK(step.shape() == Shape{3, 16});
        test::check_close(step, logits.select(1, p).contiguous(), 1e-4, 1e-5);
    }
}

TEST_CASE("imagegpt: causal by autograd: the loss at position t does not depend on tokens >= t") {
    manual_seed(42);
    ImageGptNet net(tiny_shape());
    const int64_t t = 12;
    Tensor tokens = randint(0, 16, {1, t});
    Tensor x = net.embed(net.shift_right(tokens)).detach().requires_grad_();  // input position s holds token s-1
    Tensor logits = net.forward_embedded(x);
    for (int64_t p = 0; p < t; ++p) {
        CAPTURE(p);
        Tensor loss = cross_entropy(logits.select(1, p), tokens.select(1, p));
        std::vector<double> g = autograd::grad({loss}, {x}, {}, /*retain_graph=*/true)[0].to_vector<double>();
        const int64_t d = 16;
        auto position_norm = [&](int64_t s) {
            double m = 0;
            for (int64_t j = 0; j < d; ++j) m = std::max(m, std::abs(g[size_t(s * d + j)]));
            return m;
        };
        for (int64_t s = 0; s <= p; ++s) CHECK(position_norm(s) > 0);  // the start token and tokens < p
        for (int64_t s = p + 1; s < t; ++s) CHECK(position_norm(s) == 0.0);  // tokens >= p
    }
}

TEST_CASE("imagegpt: the naive and cached samplers draw identical tokens, also from a context") {
    manual_seed(43);
    ImageGptNet net(tiny_shape());
    const int64_t n = 3, t = 24;
    Tensor uniforms = rand({n, t}, {DType::Float64});
    for (int64_t first : {int64_t(0), int64_t(5), int64_t(23)}) {
        CAPTURE(first);
        Tensor context = randint(0, 16, {n, t});
        Tensor a = sample_tokens(net, context, first, uniforms, TokenSampler::Naive);
        Tensor b = sample_tokens(net, context, first, uniforms, TokenSampler::Cached);
        const auto av = a.to_vector<int64_t>(), bv = b.to_vector<int64_t>(), cv = context.to_vector<int64_t>();
        CHECK(av == bv);
        for (int64_t i = 0; i < n; ++i)  // the context is kept
            for (int64_t p = 0; p < first; ++p) CHECK(av[size_t(i * t + p)] == cv[size_t(i * t + p)]);
        if (first == 0) CHECK(std::set<int64_t>(av.begin(), av.end()).size() > 5);  // a spread-out softmax
    }
    Tensor too_long = zeros({1, 30}, {DType::Int64});
    CHECK(contains(error_of([&] { sample_tokens(net, too_long, 0, rand({1, 30}, {DType::Float64}), TokenSampler::Cached); }),
                   "imagegpt position embedding: a sequence of 30 tokens (tokens [1, 30]) is longer than the position "
                   "table [24, 16]"));
    CHECK(contains(error_of([&] { net(too_long); }), "longer than the position table [24, 16]"));
}

TEST_CASE("imagegpt palette: k-means on tiny sets gives the hand-computed centres, either init") {
    // 1-D: two clumps; their means are 0.1 and 0.9.
    const std::vector<float> line = {0.0f, 0.1f, 0.2f, 0.8f, 0.9f, 1.0f};
    for (PaletteInit init : {PaletteInit::KMeansPlusPlus, PaletteInit::Random}) {
        for (uint64_t seed : {0u, 1u, 7u}) {
            CAPTURE(seed);
            std::vector<float> c = sorted(kmeans(line, 1, {.k = 2, .init = init, .seed = seed}));
            CHECK(c[0] == doctest::Approx(0.1));
            CHECK(c[1] == doctest::Approx(0.9));
        }
    }
    // 2-D: three pairs, each centre the pair's midpoint.
    const std::vector<float> points = {0, 0, 0, 0.2f, 1, 1, 1, 0.8f, 0, 1, 0.2f, 1};
    std::vector<float> c = kmeans(points, 2, {.k = 3, .seed = 3});
    std::vector<std::pair<float, float>> centres;
    for (int i = 0; i < 3; ++i) centres.push_back({c[size_t(2 * i)], c[size_t(2 * i + 1)]});
    std::sort(centres.begin(), centres.end());
    CHECK(centres[0].first == doctest::Approx(0.0));
    CHECK(centres[0].second == doctest::Approx(0.1));
    CHECK(centres[1].first == doctest::Approx(0.1));
    CHECK(centres[1].second == doctest::Approx(1.0));
    CHECK(centres[2].first == doctest::Approx(1.0));
    CHECK(centres[2].second == doctest::Approx(0.9));
    // The same seed, the same palette; the nearest centre, the lowest index on a tie.
    CHECK(kmeans(points, 2, {.k = 3, .seed = 3}) == c);
    CHECK(nearest_centres({0.5f, 0.05f, 0.96f}, {0.0f, 1.0f}, 1) == std::vector<int64_t>{0, 0, 1});
    CHECK(contains(error_of([&] { kmeans({0.5f, 0.5f, 0.5f}, 1, {.k = 2}); }),
                   "kmeans: a palette of 2 colours needs as many distinct pixels; the data has 1"));
    // fit_palette over uint8 images, and tokens / images through it.
    Tensor images = from_vector(std::vector<uint8_t>{0, 0, 255, 255, 0, 0, 255, 255}, {1, 2, 2, 2});  // C = 2
    Tensor palette = fit_palette(images, {.k = 2, .seed = 1});
    CHECK(sorted(palette.to_vector<float>()) == std::vector<float>{0, 0, 1, 1});
    Tensor x = div(images.to(DType::Float32), 255.0);
    Tensor tokens = palette_tokens(x, palette);
    CHECK(tokens.shape() == Shape{1, 4});
    test::check_close(palette_images(tokens, palette, 2, 2), x);
}

TEST_CASE("imagegpt: training lowers the loss; likelihood; completion keeps the context; options") {
    manual_seed(44);
    auto model = make_model({{"width", 16}, {"heads", 2}, {"layers", 1}, {"lr", 1e-2}});
    auto& gpt = dynamic_cast<ImageGptModel&>(*model);
    CHECK_FALSE(gpt.has_palette());
    CHECK(gpt.net().shape.vocab == 256);
    CHECK(gpt.net().shape.max_len == 784);
    data::Batch batch;
    batch.images = randint(0, 2, {2, 1, 28, 28}).to(DType::Float32);  // levels 0 and 255
    models::Metrics first = model->train_step(batch), last;
    CHECK(metric(first, "loss") == doctest::Approx(std::log(256.0)).epsilon(0.05));  // near uniform at the start
    CHECK(metric(first, "bits_per_dim") == doctest::Approx(metric(first, "loss") / std::numbers::ln2));
    for (int i = 0; i < 4; ++i) last = model->train_step(batch);
    CHECK(metric(last, "loss") < metric(first, "loss") - 0.5);

    // The likelihood is the summed cross-entropy per image, over the 784 values.
    Tensor tokens = gpt.tokens_of(batch.images);
    Tensor logits = gpt.net()(gpt.net().shift_right(tokens));
    const double nats = cross_entropy(logits.reshape({2 * 784, 256}), tokens.reshape({2 * 784}), Reduction::Sum).item() / 2;
    models::Metrics nll = gpt.likelihood(batch.images, {}, {});
    CHECK(metric(nll, "nll_nats") == doctest::Approx(nats).epsilon(1e-5));
    CHECK(metric(nll, "nll_bits_per_dim") == doctest::Approx(nats / (784 * std::numbers::ln2)).epsilon(1e-5));

    Tensor done = gpt.complete(batch.images, {}, 27, 2);
    CHECK(done.shape() == Shape{4, 1, 28, 28});
    const auto dv = done.to_vector<float>(), xv = batch.images.to_vector<float>();
    for (int64_t i = 0; i < 4; ++i)
        for (int64_t p = 0; p < 27 * 28; ++p) REQUIRE(dv[size_t(i * 784 + p)] == xv[size_t((i / 2) * 784 + p)]);

    nlohmann::json cfg = model->config();
    CHECK(cfg["palette"] == 0);
    CHECK(cfg["max_len"] == 784);
    CHECK(cfg["sampler"] == "cached");
    std::set<std::string> names;
    for (auto& [name, t] : gpt.net().state_dict()) names.insert(name);
    for (const char* want : {"token_embedding.weight", "position_embedding", "blocks.0.ln1.weight", "blocks.0.qkv.weight",
                             "blocks.0.proj.bias", "blocks.0.fc1.weight", "blocks.0.fc2.bias", "final_norm.bias",
                             "head.weight"})
        CHECK(names.count(want));
    CHECK(gpt.net().token_embedding->weight.shape() == Shape{257, 16});  // + the start token
}

TEST_CASE("imagegpt: a colour palette model: tokens are palette indices, bits per token, the palette in the state") {
    manual_seed(45);
    const nlohmann::json rgb = {{"data", "npy:/nonexistent/rgb.npy"}, {"image_size", 4}, {"channels", 3},
                                {"width", 16}, {"heads", 2}, {"layers", 1}, {"palette", 16}};
    auto model = make_model(rgb);  // the palette is fitted when first needed: no data read here
    auto& gpt = dynamic_cast<ImageGptModel&>(*model);
    REQUIRE(gpt.has_palette());
    CHECK(gpt.net().shape.vocab == 16);
    Tensor colours = rand({16, 3});
    gpt.set_palette(colours);
    Tensor tokens = randint(0, 16, {2, 16});
    data::Batch batch;
    batch.images = gpt.images_of(tokens);  // [2, 3, 4, 4] of palette colours
    CHECK(batch.images.shape() == Shape{2, 3, 4, 4});
    CHECK(gpt.tokens_of(batch.images).to_vector<int64_t>() == tokens.to_vector<int64_t>());
    models::Metrics m = model->train_step(batch);
    CHECK(metric(m, "bits_per_token") == doctest::Approx(metric(m, "loss") / std::numbers::ln2));
    models::Metrics nll = gpt.likelihood(batch.images, {}, {});
    CHECK(metric(nll, "nll_bits_per_token") == doctest::Approx(metric(nll, "nll_nats") / (16 * std::numbers::ln2)));
    Tensor samples = gpt.sample(3);
    CHECK(samples.shape() == Shape{3, 3, 4, 4});
    const std::vector<float> palette_values = colours.to_vector<float>();
    for (float v : samples.to_vector<float>())
        REQUIRE(std::find(palette_values.begin(), palette_values.end(), v) != palette_values.end());

    // The palette travels in the state dict; a model of another palette size refuses it.
    nn::StateDict state = gpt.net().state_dict();
    auto same = make_model(rgb, 9);
    dynamic_cast<ImageGptModel&>(*same).net().load_state_dict(state);
    test::check_close(dynamic_cast<ImageGptModel&>(*same).palette(), colours);
    nlohmann::json other = rgb;
    other["palette"] = 32;
    auto bigger = make_model(other);
    CHECK(contains(error_of([&] { dynamic_cast<ImageGptModel&>(*bigger).net().load_state_dict(state); }),
                   "'palette': shape [16, 3] in the state dict, [32, 3] in the module"));
    data::Batch grey;
    grey.images = rand({2, 1, 4, 4});
    CHECK(contains(error_of([&] { model->train_step(grey); }), "imagegpt train_step: expected float images [N, 3"));
    // No data to fit a palette from: the error names the data set.
    CHECK(contains(error_of([&] { dynamic_cast<ImageGptModel&>(*bigger).sample(1); }), "rgb.npy"));
}

TEST_CASE("imagegpt: bad options and inputs are clear errors") {
    auto make = [](nlohmann::json options) { return error_of([&] { make_model(std::move(options)); }); };
    CHECK(contains(make({{"depth", 3}}), "imagegpt options: unknown option 'depth'"));
    CHECK(contains(make({{"sampler", "fast"}}), "unknown sampler 'fast' (naive, cached)"));
    CHECK(contains(make({{"palette_init", "best"}}), "unknown palette_init 'best'"));
    CHECK(contains(make({{"palette", 8}}), "imagegpt options: palette 8 not 0 or in [16, 512]"));
    CHECK(contains(make({{"palette", 513}}), "palette"));
    CHECK(contains(make({{"width", 10}, {"heads", 4}}), "width 10 is not a multiple of heads 4"));
    auto model = make_model({{"width", 8}, {"heads", 2}, {"layers", 1}, {"max_len", 100}});
    data::Batch batch;
    batch.images = zeros({1, 1, 28, 28});
    CHECK(contains(error_of([&] { model->train_step(batch); }),
                   "imagegpt position embedding: a sequence of 784 tokens (tokens [1, 784]) is longer than the "
                   "position table [100, 8]"));
    batch.images = full({1, 1, 28, 28}, 0.3);
    CHECK(contains(error_of([&] { model->train_step(batch); }), "not one of the levels"));
}

TEST_CASE("imagegpt: one pre-LN block matches PyTorch on fixed weights (tools/reference/imagegpt_block_ref.py)") {
    ImageGptBlock block(8, 2);
    block.to(DType::Float64);
    {
        autograd::NoGradGuard no_grad;
        int64_t k = 0;  // parameter k holds 0.3 sin(1.3 j + 0.7 k) at flat index j
        for (Tensor& p : block.parameters()) {
            std::vector<double> v(size_t(p.numel()));
            for (size_t j = 0; j < v.size(); ++j) v[j] = 0.3 * std::sin(1.3 * double(j) + 0.7 * double(k));
            p.copy_(from_vector(v, p.shape()));
            ++k;
        }
        REQUIRE(k == 12);
    }
    std::vector<double> x(40);
    for (size_t j = 0; j < x.size(); ++j) x[j] = std::cos(0.37 * double(j));
    const std::vector<double> torch_out = {
        1.83493562141, 0.204072361343, 0.49371972392, 1.08403293682, -0.565296110201,
        0.525386379013, -0.708077282939, -1.99466361871, -0.153471642333, -1.70520936403,
        -1.09414716002, 0.0333879471101, -0.911520185163, 0.886677154405, 0.347551700497,
        -0.385916443909, 1.77194789155, 0.276673762588, 0.676753449877, 1.37820303286,
        -0.214950685221, 0.876959297745, -0.378754564445, -1.75337317141, -0.0214804284294,
        -1.71715995811, -1.2169742968, -0.217097167251, -1.23876231026, 0.535694039878,
        -0.00928888466681, -0.66609409993, 1.58458404936, 0.215237782606, 0.745231364448,
        1.57214479726, 0.0768771423851, 1.22344269742, -0.0181532589244, -1.43167269151,
    };
    test::check_close(block(from_vector(x, {1, 5, 8})), from_vector(torch_out, {1, 5, 8}), 1e-9, 1e-9);
}

TEST_CASE("imagegpt: the causality monitor finds no leak, grey and palette; pixel_logits are the model's logits") {
    auto grey = make_model({{"width", 16}, {"heads", 2}, {"layers", 2}});
    CHECK_FALSE(models::check_causality(*grey, Shape{2, 1, 9, 9}, 1).has_value());
    auto& gpt = dynamic_cast<ImageGptModel&>(*grey);
    manual_seed(46);
    Tensor images = div(randint(0, 256, {2, 1, 5, 5}).to(DType::Float32), 255.0);
    Tensor tokens = gpt.tokens_of(images);
    Tensor logits = gpt.net()(gpt.net().shift_right(tokens));  // [2, 25, 256]
    test::check_close(gpt.pixel_logits(images, {}), logits.permute({0, 2, 1}).reshape({2, 256, 5, 5}));
    // The field of pixel (2, 2): every pixel before it, none from it on.
    const Tensor field = models::receptive_field(*grey, images.select(0, 0), {0, 2, 2});
    const std::vector<float> f = field.to_vector<float>();
    for (int64_t p = 0; p < 25; ++p) CHECK((p < 12 ? f[size_t(p)] > 0 : f[size_t(p)] == 0));

    auto colour = make_model({{"data", "npy:/nonexistent/rgb.npy"}, {"image_size", 6}, {"channels", 3},
                              {"width", 16}, {"heads", 2}, {"layers", 1}, {"palette", 16}});
    dynamic_cast<ImageGptModel&>(*colour).set_palette(rand({16, 3}));
    CHECK_FALSE(models::check_causality(*colour, Shape{2, 3, 6, 6}, 1).has_value());
}
