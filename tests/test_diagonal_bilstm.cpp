// diagonal-bilstm: one Diagonal BiLSTM layer against its recurrence written out as loops in
// image coordinates, its gradients, causality and the whole context by autograd (where the
// Row LSTM's field falls short), the naive sampler, training steps, names and bad input.
#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "core/minigen.h"
#include "helpers.h"
#include "pixelrnn_checks.h"
#include "models/pixelcnn/pixelcnn_sampler.h"
#include "models/pixelrnn/diagonal_bilstm.h"
#include "models/pixelrnn/pixel_canvas.h"
#include "models/receptive_field.h"
#include "models/registry.h"

using mg::test::contains;
using mg::test::error_of;
using namespace mg;
using namespace mg::models::pixelrnn;

namespace {

// The layer by its definition (diagonal_bilstm_net.h) in image coordinates, no skew:
// direction d's state at (i, j) follows from its input there, its state above (i-1, j) and
// its state beside: left (i, j-1) for d = 0, right (i, j+1) for d = 1 (0 outside the image).
// x [1, C, H, W] float64 -> x + out(h_0(i, j) + h_1(i-1, j)).
std::vector<double> layer_by_hand(DiagonalBiLstmLayer& layer, const Tensor& x) {
    // input [8h, C, 1, 1]; state [8h, h, 2, 1]: taps above, beside; out [C, h, 1, 1]
    const mg::test::LayerWeights weights = mg::test::weights_of(layer);
    const std::vector<double> xs = x.to_vector<double>();
    const int64_t c_in = x.size(1), rows = x.size(2), w = x.size(3), hid = layer.hidden;
    // states[d][(i * w + j) * hid + q]
    std::vector<std::vector<double>> states(2, std::vector<double>(size_t(rows * w * hid), 0.0));
    for (int d = 0; d < 2; ++d) {
        std::vector<double> cells(size_t(rows * w * hid), 0.0);
        auto state = [&](const std::vector<double>& s, int64_t i, int64_t j, int64_t q) {
            return i < 0 || j < 0 || j >= w ? 0.0 : s[size_t((i * w + j) * hid + q)];
        };
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t step = 0; step < w; ++step) {
                const int64_t j = d == 0 ? step : w - 1 - step, beside = d == 0 ? j - 1 : j + 1;
                std::vector<double> g(size_t(4 * hid));
                for (int64_t k = 0; k < 4 * hid; ++k) {
                    const int64_t o = d * 4 * hid + k;
                    double s = weights.input_bias[size_t(o)];
                    for (int64_t ch = 0; ch < c_in; ++ch)
                        s += weights.input[size_t(o * c_in + ch)] * xs[size_t((ch * rows + i) * w + j)];
                    for (int64_t q = 0; q < hid; ++q)
                        s += weights.state[size_t((o * hid + q) * 2)] * state(states[d], i - 1, j, q) +
                             weights.state[size_t((o * hid + q) * 2 + 1)] * state(states[d], i, beside, q);
                    g[size_t(k)] = s;
                }
                for (int64_t q = 0; q < hid; ++q) {
                    // c's previous value is the skewed map's column before, the same row: the
                    // pixel beside.
                    const size_t at = size_t((i * w + j) * hid + q);
                    std::tie(states[d][at], cells[at]) = mg::test::lstm_unit(g, hid, q, state(cells, i, beside, q));
                }
            }
    }
    std::vector<double> out = xs;
    for (int64_t ch = 0; ch < c_in; ++ch)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < w; ++j) {
                double s = weights.out_bias[size_t(ch)];
                for (int64_t q = 0; q < hid; ++q) {
                    const double above = i > 0 ? states[1][size_t(((i - 1) * w + j) * hid + q)] : 0.0;
                    s += weights.out[size_t(ch * hid + q)] * (states[0][size_t((i * w + j) * hid + q)] + above);
                }
                out[size_t((ch * rows + i) * w + j)] += s;
            }
    return out;
}

}  // namespace

TEST_CASE("diagonal-bilstm: one layer is the Diagonal BiLSTM recurrence, and matches finite differences") {
    manual_seed(41);
    DiagonalBiLstmLayer layer(2, 3);
    layer.to(DType::Float64);
    for (Shape shape : {Shape{1, 2, 4, 5}, Shape{1, 2, 5, 3}, Shape{1, 2, 1, 4}}) {  // wide, tall, one row
        CAPTURE(shape);
        Tensor x = rand(shape, {DType::Float64}, -1, 1);
        const std::vector<double> want = layer_by_hand(layer, x), got = layer(x).to_vector<double>();
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
    }
    mg::test::check_layer_gradients(layer, 2);
}

// Whether pixel (i, j) of a W-wide image sees the earlier pixel p (raster index): every one
// but the last pixel of the row above when j < W - 4. That pixel is in no feature of its own
// row (the 7x7 mask-A conv hides a pixel from its own position, and nothing lies right of it),
// only in the first conv's features of the next row from column W - 4 on (3 columns left of
// it), which the left-to-right LSTM of (i, j) reaches only if j >= W - 4.
bool sees(int64_t i, int64_t j, int64_t p, int64_t w) {
    return p < i * w + j && !(p == i * w - 1 && j < w - 4);
}

TEST_CASE("diagonal-bilstm: pixel (i, j)'s logits see every pixel before it (but one) and none at or after it") {
    const int64_t h = 6, w = 7;
    for (int64_t layers : {1, 2}) {
        CAPTURE(layers);
        manual_seed(42);
        PixelRnnShape shape = mg::test::pixelrnn_shape(8, 3, 1, 8);
        shape.layers = layers;
        DiagonalBiLstmNet net(shape);
        mg::test::for_each_pixel_gradient(net, h, w, [&](int64_t r, int64_t c, const std::vector<double>& g) {
            for (int64_t p = 0; p < h * w; ++p) {
                CAPTURE(p);
                CHECK((g[size_t(p)] != 0.0) == sees(r, c, p, w));
            }
        });
    }
}

TEST_CASE("diagonal-bilstm: its receptive field covers the context where the Row LSTM's leaves gaps") {
    auto make = [](const std::string& name, nlohmann::json options) {
        models::ModelConfig c;
        c.seed = 43;
        c.options = std::move(options);
        return models::find_model(name).create(c);
    };
    const nlohmann::json shape = {{"width", 8}, {"hidden", 4}, {"layers", 1}, {"head_channels", 8}};
    auto diagonal = make("diagonal-bilstm", shape), row = make("row-lstm", shape);
    manual_seed(44);
    const Tensor image = rand({1, 9, 9});
    // The earlier pixels the field of `value` misses; nothing at or after it may be seen.
    auto unseen = [&](models::Model& model, const models::PixelValue& value) {
        const std::vector<float> field = models::receptive_field(model, image, value).to_vector<float>();
        const int64_t at = value.row * 9 + value.col;
        std::vector<int64_t> missed;
        for (int64_t p = 0; p < at; ++p)
            if (field[size_t(p)] == 0.0f) missed.push_back(p);
        for (int64_t p = at; p < 81; ++p) CHECK(field[size_t(p)] == 0.0f);
        return missed;
    };
    CHECK(unseen(*diagonal, {0, 6, 8}).empty());  // the right end of row 6: all 62 earlier pixels
    CHECK(unseen(*diagonal, {0, 6, 2}) == std::vector<int64_t>{5 * 9 + 8});  // all but (5, 8): sees()
    // The Row LSTM (one layer) reaches 3 + 1 columns left on its own row, so (6, 0 .. 3) are out
    // of its view (and the left of the rows above: its triangle).
    const std::vector<int64_t> missed = unseen(*row, {0, 6, 8});
    for (int64_t p : {54, 55, 56, 57}) CHECK(std::count(missed.begin(), missed.end(), p) == 1);
    CHECK(std::count(missed.begin(), missed.end(), 58) == 0);
}

TEST_CASE("diagonal-bilstm: the naive sampler draws each pixel from its logits and keeps the context") {
    manual_seed(45);
    DiagonalBiLstmNet net(mg::test::pixelrnn_shape(8, 3, 1, 8));
    const int64_t n = 2, h = 5, w = 4;
    Tensor uniforms = rand({n, h * w}, {DType::Float64});
    Tensor context = div(randint(0, 256, {n, 1, h, w}).to(DType::Float32), 255.0);
    const int64_t first = 6;
    Tensor drawn = sample_naive(net, "test sampler", context, first, uniforms);
    const auto dv = drawn.to_vector<float>(), cv = context.to_vector<float>();
    const auto u = uniforms.to_vector<double>();
    // The model is causal, so the logits of the finished image are those each pixel was drawn from.
    Tensor logits = [&] {
        autograd::NoGradGuard no_grad;
        return net(drawn).permute({0, 2, 3, 1}).contiguous();  // [N, H, W, 256]
    }();
    const auto lv = logits.to_vector<float>();
    std::set<float> levels;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t p = 0; p < h * w; ++p) {
            const size_t at = size_t(i * h * w + p);
            if (p < first) {
                CHECK(dv[at] == cv[at]);
                continue;
            }
            const int64_t level = models::pixelcnn::draw_level(lv.data() + at * 256, 256, u[at]);
            CHECK(dv[at] == float(level) / 255.0f);
            levels.insert(dv[at]);
        }
    CHECK(levels.size() > 5);  // drawn from a spread-out softmax, not a constant
    CHECK(contains(error_of([&] { sample_naive(net, "test sampler", context, 21, uniforms); }),
                   "test sampler: first_pixel 21 not in [0, 20]"));
}

TEST_CASE("diagonal-bilstm: training steps lower the loss; names, options and bad input") {
    manual_seed(46);
    data::Batch batch;
    auto model = mg::test::check_pixelrnn_model("diagonal-bilstm", {{"width", 8}, {"hidden", 4}, {"head_channels", 8}},
                                                 batch);
    auto& diagonal = dynamic_cast<DiagonalBiLstmModel&>(*model);
    std::set<std::string> names;
    for (auto& [name, t] : diagonal.net().state_dict()) names.insert(name);
    for (const char* want : {"input_conv.weight", "input_conv.mask", "layers.0.input_to_state.bias",
                             "layers.0.state_to_state.weight", "layers.0.out.weight", "head_out.bias"})
        CHECK(names.count(want));
    CHECK(!names.count("layers.0.state_to_state.bias"));
    CHECK(!names.count("layers.1.out.weight"));  // one layer by default
    CHECK(diagonal.net().layers[0]->state_to_state->weight.shape() == Shape{32, 4, 2, 1});
    nlohmann::json cfg = model->config();
    CHECK(cfg["hidden"] == 4);
    CHECK(cfg["layers"] == 1);
    models::ModelConfig c;
    c.options = {{"sampler", "rows"}};
    CHECK(contains(error_of([&] { models::find_model("diagonal-bilstm").create(c); }), "unknown option 'sampler'"));
}
