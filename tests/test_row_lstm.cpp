// row-lstm: one Row LSTM layer against the recurrence written out as loops, its gradients,
// the causality of the whole network (by autograd), the two samplers drawing identical
// images, training steps, parameter names and bad input.
#include <cmath>
#include <set>
#include <tuple>

#include "core/minigen.h"
#include "helpers.h"
#include "pixelrnn_checks.h"
#include "models/pixelrnn/row_lstm.h"
#include "models/registry.h"

using namespace mg;
using namespace mg::models::pixelrnn;
using mg::test::contains;
using mg::test::error_of;

namespace {

// The layer by its definition (row_lstm_net.h), in loops: x [1, C, H, W] float64 -> [1, C, H, W].
std::vector<double> layer_by_hand(RowLstmLayer& layer, const Tensor& x) {
    const int64_t c_in = x.size(1), h_rows = x.size(2), w = x.size(3), hid = layer.hidden;
    const auto xs = x.to_vector<double>();
    // input [4h, C, 1, 2]: taps j-1, j; state [4h, h, 1, 3]: taps j-1, j, j+1; out [C, h, 1, 1]
    const mg::test::LayerWeights weights = mg::test::weights_of(layer);
    const auto &wi = weights.input, &bi = weights.input_bias, &ws = weights.state, &wo = weights.out,
               &bo = weights.out_bias;
    auto X = [&](int64_t ch, int64_t r, int64_t j) { return j < 0 || j >= w ? 0.0 : xs[(ch * h_rows + r) * w + j]; };
    std::vector<double> h_prev(hid * w, 0.0), c_prev(hid * w, 0.0), out = xs;
    for (int64_t r = 0; r < h_rows; ++r) {
        std::vector<double> h_row(hid * w), c_row(hid * w);
        for (int64_t j = 0; j < w; ++j) {
            std::vector<double> g(4 * hid);
            for (int64_t k = 0; k < 4 * hid; ++k) {
                double s = bi[k];
                for (int64_t ch = 0; ch < c_in; ++ch)
                    s += wi[(k * c_in + ch) * 2] * X(ch, r, j - 1) + wi[(k * c_in + ch) * 2 + 1] * X(ch, r, j);
                for (int64_t q = 0; q < hid; ++q)
                    for (int64_t t = 0; t < 3; ++t) {
                        const int64_t col = j - 1 + t;
                        if (col >= 0 && col < w) s += ws[(k * hid + q) * 3 + t] * h_prev[q * w + col];
                    }
                g[k] = s;
            }
            for (int64_t q = 0; q < hid; ++q)
                std::tie(h_row[q * w + j], c_row[q * w + j]) = mg::test::lstm_unit(g, hid, q, c_prev[q * w + j]);
        }
        for (int64_t ch = 0; ch < c_in; ++ch)
            for (int64_t j = 0; j < w; ++j) {
                double s = bo[ch];
                for (int64_t q = 0; q < hid; ++q) s += wo[ch * hid + q] * h_row[q * w + j];
                out[(ch * h_rows + r) * w + j] += s;
            }
        h_prev = h_row;
        c_prev = c_row;
    }
    return out;
}

RowLstmShape tiny_shape() { return mg::test::pixelrnn_shape(4, 3, 2, 5); }

}  // namespace

TEST_CASE("row-lstm: one layer is the Row LSTM recurrence, and matches finite differences") {
    manual_seed(31);
    RowLstmLayer layer(2, 3);
    layer.to(DType::Float64);
    Tensor x = rand({1, 2, 4, 5}, {DType::Float64}, -1, 1);
    const std::vector<double> want = layer_by_hand(layer, x), got = layer(x).to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));

    mg::test::check_layer_gradients(layer, 2);
}

TEST_CASE("row-lstm: the network is causal: pixel (i, j)'s logits see only pixels before it") {
    manual_seed(32);
    RowLstmNet net(tiny_shape());
    const int64_t h = 7, w = 6;
    mg::test::for_each_pixel_gradient(net, h, w, [&](int64_t r, int64_t c, const std::vector<double>& g) {
        const int64_t i = r * w + c;
        for (int64_t p = i; p < h * w; ++p) CHECK(g[size_t(p)] == 0.0);
        if (c > 0) CHECK(g[size_t(i - 1)] != 0.0);
        if (r > 0) CHECK(g[size_t(i - w)] != 0.0);
        // The triangle: the state-to-state conv reaches one column further right per row up, so
        // the bottom-left pixel sees the top-right one, five columns away (the 7x7 conv reaches 3).
        if (r == h - 1 && c == 0) CHECK(g[size_t(w - 1)] != 0.0);
    });
}

TEST_CASE("row-lstm: the naive and rows samplers draw identical images, also from a context") {
    manual_seed(33);
    RowLstmNet net(tiny_shape());
    const int64_t n = 3, h = 6, w = 5;
    Tensor uniforms = rand({n, h * w}, {DType::Float64});
    for (int64_t first : {int64_t(0), int64_t(7), int64_t(10)}) {
        CAPTURE(first);
        Tensor context = div(randint(0, 256, {n, 1, h, w}).to(DType::Float32), 255.0);
        Tensor a = sample_row_lstm(net, context, first, uniforms, RowSampler::Naive);
        Tensor b = sample_row_lstm(net, context, first, uniforms, RowSampler::Rows);
        const auto av = a.to_vector<float>(), bv = b.to_vector<float>(), cv = context.to_vector<float>();
        CHECK(av == bv);
        for (int64_t i = 0; i < n; ++i)  // the context is kept
            for (int64_t p = 0; p < first; ++p) CHECK(av[size_t(i * h * w + p)] == cv[size_t(i * h * w + p)]);
        std::set<float> levels(av.begin(), av.end());
        CHECK(levels.size() > 5);  // drawn from a spread-out softmax, not a constant
    }
}

TEST_CASE("row-lstm: training steps lower the loss; names, options and bad input") {
    manual_seed(34);
    data::Batch batch;
    auto model = mg::test::check_pixelrnn_model(
        "row-lstm", {{"width", 8}, {"hidden", 8}, {"head_channels", 8}, {"sampler", "naive"}}, batch);
    auto& row = dynamic_cast<RowLstmModel&>(*model);
    std::set<std::string> names;
    for (auto& [name, t] : row.net().state_dict()) names.insert(name);
    for (const char* want : {"input_conv.weight", "input_conv.mask", "layers.0.input_to_state.weight",
                             "layers.0.input_to_state.bias", "layers.1.state_to_state.weight", "layers.1.out.weight",
                             "layers.1.out.bias", "head_hidden.weight", "head_out.bias"})
        CHECK(names.count(want));
    CHECK(!names.count("layers.0.state_to_state.bias"));  // the input-to-state conv carries the bias
    CHECK(row.net().layers[0]->input_to_state->weight.shape() == Shape{32, 8, 1, 2});
    nlohmann::json cfg = model->config();
    CHECK(cfg["sampler"] == "naive");
    CHECK(cfg["hidden"] == 8);
    models::ModelConfig c;
    c.options = {{"sampler", "fast"}};
    CHECK(contains(error_of([&] { models::find_model("row-lstm").create(c); }), "unknown sampler 'fast'"));
}
