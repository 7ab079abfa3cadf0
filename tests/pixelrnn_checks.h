// What the PixelRNN tests (test_row_lstm.cpp, test_diagonal_bilstm.cpp) check alike: a
// layer's gradients, and a model's training steps, likelihood and bad input.
#pragma once

#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "core/gradcheck.h"
#include "helpers.h"
#include "models/capabilities.h"
#include "models/pixelrnn/pixelrnn_net.h"
#include "models/registry.h"

namespace mg::test {

// A PixelRNN layer's weights as float64 vectors, for the tests' loops that write the layer out.
struct LayerWeights {
    std::vector<double> input, input_bias, state, out, out_bias;
};
template <class Layer>
LayerWeights weights_of(Layer& layer) {
    return {layer.input_to_state->weight.template to_vector<double>(),
            layer.input_to_state->bias.template to_vector<double>(),
            layer.state_to_state->weight.template to_vector<double>(), layer.out->weight.template to_vector<double>(),
            layer.out->bias.template to_vector<double>()};
}

// One LSTM unit by hand: unit q's gates in g (i, f, g, o, each `hidden` long, PyTorch's order)
// and its previous cell -> {h, c}.
inline std::pair<double, double> lstm_unit(const std::vector<double>& g, int64_t hidden, int64_t q, double c_prev) {
    auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
    const double c =
        sigmoid(g[size_t(hidden + q)]) * c_prev + sigmoid(g[size_t(q)]) * std::tanh(g[size_t(2 * hidden + q)]);
    return {sigmoid(g[size_t(3 * hidden + q)]) * std::tanh(c), c};
}

inline models::pixelrnn::PixelRnnShape pixelrnn_shape(int64_t channels, int64_t hidden, int64_t layers,
                                                      int64_t head_channels) {
    models::pixelrnn::PixelRnnShape s;
    s.channels = channels;
    s.hidden = hidden;
    s.layers = layers;
    s.head_channels = head_channels;
    return s;
}

// gradcheck of layer(x) in x [2, channels, 3, 4] (float64, in [-1, 1]) and every parameter;
// the layer must be float64.
inline void check_layer_gradients(nn::Module& layer, int64_t channels) {
    std::vector<Tensor> inputs = {rand({2, channels, 3, 4}, {DType::Float64}, -1, 1).requires_grad_()};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return layer(in[0]); }, inputs);
    INFO(r.message);
    CHECK(r.ok);
}

// For every pixel (r, c) of a random image [1, 1, h, w], check(r, c, g) with g the gradient
// of the pixel's summed logits under `net` (parameters frozen) with respect to the image, in
// raster order.
template <class Net, class Check>
void for_each_pixel_gradient(Net& net, int64_t h, int64_t w, Check&& check) {
    for (Tensor& p : net.parameters()) p.requires_grad_(false);
    Tensor x = rand({1, 1, h, w}).requires_grad_();
    Tensor logits = net(x);  // [1, levels, H, W]
    for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c) {
            CAPTURE(r);
            CAPTURE(c);
            Tensor out = sum(logits.select(0, 0).select(1, r).select(1, c));
            check(r, c, autograd::grad({out}, {x}, {}, /*retain_graph=*/true)[0].template to_vector<double>());
        }
}

// Creates PixelRNN `name` with `options` and lr 1e-2, trains it 6 steps on one batch of four
// 28x28 images of levels 0 and 255 (`batch`), checks the loss starts near uniform and falls,
// the likelihood is the summed cross-entropy per image, and the model's bad-input errors.
inline std::unique_ptr<models::Model> check_pixelrnn_model(const std::string& name, nlohmann::json options,
                                                           data::Batch& batch) {
    auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };
    models::ModelConfig config;
    config.options = options;
    config.lr = 1e-2;
    auto model = models::find_model(name).create(config);
    batch.images = randint(0, 2, {4, 1, 28, 28}).to(DType::Float32);
    models::Metrics first = model->train_step(batch), last;
    for (int i = 0; i < 5; ++i) last = model->train_step(batch);
    CHECK(first[1].second == doctest::Approx(first[0].second / std::numbers::ln2));
    CHECK(first[0].second == doctest::Approx(std::log(256.0)).epsilon(0.05));  // near uniform at the start
    CHECK(last[0].second < first[0].second - 0.2);

    // The likelihood is the summed cross-entropy per image, over the H*W values in bits/dim.
    auto& logits = dynamic_cast<models::PixelLogits&>(*model);
    Tensor levels = mul(batch.images, 255.0).to(DType::Int64).flatten(0, 1);
    const double nats = cross_entropy(logits.pixel_logits(batch.images, {}), levels, Reduction::Sum).item() / 4.0;
    models::Metrics nll = dynamic_cast<models::Likelihood&>(*model).likelihood(batch.images, {}, {});
    CHECK(nll[0].second == doctest::Approx(nats).epsilon(1e-5));
    CHECK(nll[1].second == doctest::Approx(nats / (784 * std::numbers::ln2)).epsilon(1e-5));

    data::Batch colour;
    colour.images = rand({2, 3, 28, 28});
    CHECK(contains(error_of([&] { model->train_step(colour); }), name + " train_step: expected float images [N, 1"));
    CHECK(contains(error_of([&] { logits.pixel_logits(rand({2, 28, 28}), {}); }), name + ": expected grey images"));
    auto& completion = dynamic_cast<models::Completion&>(*model);
    CHECK(contains(error_of([&] { completion.complete(rand({1, 1, 20, 20}), {}, 3, 1); }), "[N, 1, 28, 28]"));
    auto make = [&](nlohmann::json bad) {
        models::ModelConfig c;
        c.options = std::move(bad);
        return error_of([&] { models::find_model(name).create(c); });
    };
    CHECK(contains(make({{"depth", 3}}), "unknown option 'depth'"));
    CHECK(contains(make({{"hidden", 0}}), "hidden"));
    CHECK(contains(make({{"channels", 3}}), "channels"));
    return model;
}

}  // namespace mg::test
