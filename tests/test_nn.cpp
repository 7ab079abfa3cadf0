// nn modules against references written out here: explicit loops in float64,
// numbers typed in, and the PyTorch conventions (names, init) stated as facts.
#include <cmath>

#include "core/nn/nn.h"
#include "helpers.h"

using namespace mg;
using test::check_close;
using test::contains;
using test::error_of;

namespace {

template <class M, class... Args> std::shared_ptr<M> mk(Args&&... args) {
    return std::make_shared<M>(std::forward<Args>(args)...);
}

// A float64 module (built in float32 like PyTorch's, then cast).
template <class M, class... Args> std::shared_ptr<M> mk64(Args&&... args) {
    auto m = mk<M>(std::forward<Args>(args)...);
    m->to(DType::Float64);
    return m;
}

Tensor randn64(const Shape& s) { return randn(s, {DType::Float64}); }

// ---- reference convolutions: the definitions, as loops ----------------------------------
// Calls f(a, c, r, q) for each kernel tap (a, c) of position (i, j) whose target
// r = i*s - p + a*d, q = j*s - p + c*d (per axis) lies inside rows x cols, taps in row-major order.
template <class F>
void for_each_tap(int64_t i, int64_t j, int64_t kh, int64_t kw, Pair s, Pair p, Pair d, int64_t rows, int64_t cols,
                  F&& f) {
    for (int64_t a = 0; a < kh; ++a)
        for (int64_t c = 0; c < kw; ++c) {
            const int64_t r = i * s.h - p.h + a * d.h, q = j * s.w - p.w + c * d.w;
            if (r >= 0 && r < rows && q >= 0 && q < cols) f(a, c, r, q);
        }
}

// x [N, C_in, H, W], w [C_out, C_in/g, KH, KW] -> [N, C_out, OH, OW]
Tensor conv2d_loops(const Tensor& x, const Tensor& w, const Tensor& b, Pair s, Pair p, Pair d, int64_t g) {
    const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), wd = x.size(3);
    const int64_t cout = w.size(0), cig = w.size(1), kh = w.size(2), kw = w.size(3), cog = cout / g;
    const int64_t oh = (h + 2 * p.h - d.h * (kh - 1) - 1) / s.h + 1, ow = (wd + 2 * p.w - d.w * (kw - 1) - 1) / s.w + 1;
    std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), y(size_t(n * cout * oh * ow));
    std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(size_t(cout), 0.0);
    for (int64_t in = 0; in < n; ++in)
        for (int64_t co = 0; co < cout; ++co)
            for (int64_t i = 0; i < oh; ++i)
                for (int64_t j = 0; j < ow; ++j) {
                    double acc = bv[size_t(co)];
                    for (int64_t ci = 0; ci < cig; ++ci) {
                        const int64_t xc = (co / cog) * cig + ci;
                        for_each_tap(i, j, kh, kw, s, p, d, h, wd, [&](int64_t a, int64_t c, int64_t r, int64_t q) {
                            acc += xv[size_t(((in * cin + xc) * h + r) * wd + q)] *
                                   wv[size_t(((co * cig + ci) * kh + a) * kw + c)];
                        });
                    }
                    y[size_t(((in * cout + co) * oh + i) * ow + j)] = acc;
                }
    return from_vector(y, Shape{n, cout, oh, ow});
}

// x [N, C_in, H, W], w [C_in, C_out/g, KH, KW]: every input pixel scatters w into the output.
Tensor conv_transpose2d_loops(const Tensor& x, const Tensor& w, const Tensor& b, Pair s, Pair p, Pair op, Pair d,
                              int64_t g) {
    const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), wd = x.size(3);
    const int64_t cog = w.size(1), kh = w.size(2), kw = w.size(3), cout = cog * g, cig = cin / g;
    const int64_t oh = (h - 1) * s.h - 2 * p.h + d.h * (kh - 1) + op.h + 1;
    const int64_t ow = (wd - 1) * s.w - 2 * p.w + d.w * (kw - 1) + op.w + 1;
    std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(), y(size_t(n * cout * oh * ow), 0.0);
    std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(size_t(cout), 0.0);
    for (int64_t in = 0; in < n; ++in)
        for (int64_t co = 0; co < cout; ++co)
            for (int64_t k = 0; k < oh * ow; ++k) y[size_t((in * cout + co) * oh * ow + k)] = bv[size_t(co)];
    for (int64_t in = 0; in < n; ++in)
        for (int64_t ci = 0; ci < cin; ++ci)
            for (int64_t i = 0; i < h; ++i)
                for (int64_t j = 0; j < wd; ++j)
                    for (int64_t col = 0; col < cog; ++col) {
                        const int64_t co = (ci / cig) * cog + col;
                        for_each_tap(i, j, kh, kw, s, p, d, oh, ow, [&](int64_t a, int64_t c, int64_t r, int64_t q) {
                            y[size_t(((in * cout + co) * oh + r) * ow + q)] +=
                                xv[size_t(((in * cin + ci) * h + i) * wd + j)] *
                                wv[size_t(((ci * cog + col) * kh + a) * kw + c)];
                        });
                    }
    return from_vector(y, Shape{n, cout, oh, ow});
}

// Per-channel batch statistics of x [N, C, ...]: {mean, biased variance}.
std::pair<std::vector<double>, std::vector<double>> channel_stats(const Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), inner = x.numel() / (n * c);
    std::vector<double> v = x.to_vector<double>(), mean(size_t(c), 0.0), var(size_t(c), 0.0);
    for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t i = 0; i < n; ++i)
            for (int64_t k = 0; k < inner; ++k) mean[size_t(ch)] += v[size_t((i * c + ch) * inner + k)];
        mean[size_t(ch)] /= double(n * inner);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t k = 0; k < inner; ++k) {
                double dv = v[size_t((i * c + ch) * inner + k)] - mean[size_t(ch)];
                var[size_t(ch)] += dv * dv;
            }
        var[size_t(ch)] /= double(n * inner);
    }
    return {mean, var};
}

// (x - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c] over x [N, C, ...].
Tensor normalize_loops(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                       const std::vector<double>& w, const std::vector<double>& b, double eps) {
    const int64_t n = x.size(0), c = x.size(1), inner = x.numel() / (n * c);
    std::vector<double> v = x.to_vector<double>();
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t k = 0; k < inner; ++k) {
                double& e = v[size_t((i * c + ch) * inner + k)];
                e = (e - mean[size_t(ch)]) / std::sqrt(var[size_t(ch)] + eps) * w[size_t(ch)] + b[size_t(ch)];
            }
    return from_vector(v, x.shape());
}

}  // namespace

// ---- layers against loops -------------------------------------------------------------------
TEST_CASE("nn::Linear: y = x W^T + b, by loops") {
    manual_seed(1);
    auto fc = mk64<nn::Linear>(3, 2);
    Tensor x = randn64({4, 3});
    std::vector<double> xv = x.to_vector<double>(), w = fc->weight.to_vector<double>();
    std::vector<double> b = fc->bias.to_vector<double>();
    std::vector<double> y(8);
    for (int n = 0; n < 4; ++n)
        for (int o = 0; o < 2; ++o) {
            y[size_t(n * 2 + o)] = b[size_t(o)];
            for (int i = 0; i < 3; ++i) y[size_t(n * 2 + o)] += xv[size_t(n * 3 + i)] * w[size_t(o * 3 + i)];
        }
    check_close((*fc)(x), from_vector(y, Shape{4, 2}), 1e-12, 1e-12);

    auto no_bias = mk64<nn::Linear>(3, 2, false);
    CHECK(!no_bias->bias.defined());
    CHECK(no_bias->state_dict().keys() == std::vector<std::string>{"weight"});
    check_close((*no_bias)(x), matmul(x, no_bias->weight.t()), 1e-12, 1e-12);
    CHECK(contains(error_of([&] { (*fc)(randn64({4, 5})); }), "linear"));
}

TEST_CASE("nn::Conv2d matches the definition (stride, padding, dilation, groups)") {
    manual_seed(2);
    struct Case {
        int64_t cin, cout;
        Pair k, s, p, d;
        int64_t g;
        bool bias;
    };
    for (Case c : {Case{2, 3, 3, 1, 1, 1, 1, true}, Case{4, 6, Pair(3, 2), Pair(2, 1), Pair(1, 0), 1, 2, true},
                   Case{3, 2, 3, Pair(1, 2), 2, 2, 1, false}}) {
        auto conv = mk64<nn::Conv2d>(c.cin, c.cout, c.k, c.s, c.p, c.d, c.g, c.bias);
        CHECK(conv->weight.shape() == Shape{c.cout, c.cin / c.g, c.k.h, c.k.w});
        Tensor x = randn64({2, c.cin, 6, 7});
        check_close((*conv)(x), conv2d_loops(x, conv->weight, conv->bias, c.s, c.p, c.d, c.g), 1e-10, 1e-12);
    }
    CHECK(contains(error_of([] { nn::Conv2d(3, 4, 3, 1, 0, 1, 2); }), "groups=2 must divide in_channels=3"));
    CHECK(contains(error_of([] { nn::Conv2d(3, 4, 0); }), "kernel_size"));
}

TEST_CASE("nn::ConvTranspose2d matches the definition") {
    manual_seed(3);
    auto up = mk64<nn::ConvTranspose2d>(4, 6, 4, 2, 1, 1, 2);  // k4 s2 p1 output_padding 1, groups 2
    CHECK(up->weight.shape() == Shape{4, 3, 4, 4});             // [C_in, C_out/groups, KH, KW]
    Tensor x = randn64({2, 4, 3, 5});
    Tensor y = (*up)(x);
    CHECK(y.shape() == Shape{2, 6, 7, 11});  // (H-1)*2 - 2 + 3 + 1 + 1
    check_close(y, conv_transpose2d_loops(x, up->weight, up->bias, 2, 1, 1, 1, 2), 1e-10, 1e-12);

    auto dilated = mk64<nn::ConvTranspose2d>(3, 2, Pair(3, 2), 1, Pair(1, 0), 0, 1, false, Pair(2, 1));
    Tensor x2 = randn64({1, 3, 4, 4});
    check_close((*dilated)(x2), conv_transpose2d_loops(x2, dilated->weight, Tensor(), 1, Pair(1, 0), 0, Pair(2, 1), 1),
                1e-10, 1e-12);
    CHECK(contains(error_of([] { nn::ConvTranspose2d(2, 2, 3, 1, 0, 1); }), "output_padding"));
}

TEST_CASE("nn::MaskedConv2d: mask contents for types A and B") {
    // k = 5, centre (2, 2): rows above the centre and the pixels left of it are visible;
    // B also sees the centre.
    const std::vector<float> a = {1, 1, 1, 1, 1,  //
                                  1, 1, 1, 1, 1,  //
                                  1, 1, 0, 0, 0,  //
                                  0, 0, 0, 0, 0,  //
                                  0, 0, 0, 0, 0};
    std::vector<float> b = a;
    b[12] = 1;
    auto ma = mk<nn::MaskedConv2d>('A', 2, 3, 5, 2);
    auto mb = mk<nn::MaskedConv2d>('B', 2, 3, 5, 2, false);
    CHECK(ma->mask.shape() == Shape{3, 2, 5, 5});
    for (int64_t o = 0; o < 3; ++o)
        for (int64_t i = 0; i < 2; ++i) {
            CHECK(ma->mask.select(0, o).select(0, i).to_vector<float>() == a);
            CHECK(mb->mask.select(0, o).select(0, i).to_vector<float>() == b);
        }
    CHECK(ma->state_dict().keys() == std::vector<std::string>{"weight", "bias", "mask"});
    CHECK(mb->state_dict().keys() == std::vector<std::string>{"weight", "mask"});
    CHECK(!ma->mask.requires_grad());
    CHECK(contains(error_of([] { nn::MaskedConv2d('C', 1, 1, 3, 1); }), "'A' or 'B'"));
    CHECK(contains(error_of([] { nn::MaskedConv2d('A', 1, 1, 4, 1); }), "odd"));
}

TEST_CASE("nn::MaskedConv2d: forward is conv2d with weight * mask, and is causal") {
    manual_seed(4);
    for (char type : {'A', 'B'}) {
        auto m = mk64<nn::MaskedConv2d>(type, 1, 2, 3, 1);
        Tensor x = randn64({1, 1, 5, 5});
        check_close((*m)(x), conv2d_loops(x, mul(m->weight, m->mask), m->bias, 1, 1, 1, 1), 1e-10, 1e-12);
        // Output pixel (2, 2) may depend on input pixels before it in raster order (and on
        // itself for B), never after.
        Tensor xg = x.detach().requires_grad_();
        (*m)(xg).select(0, 0).select(0, 0).select(0, 2).select(0, 2).backward();
        std::vector<double> g = xg.grad().to_vector<double>();
        for (int pix = 0; pix < 25; ++pix) {
            bool visible = pix < 12 || (pix == 12 && type == 'B');
            bool in_window = std::abs(pix / 5 - 2) <= 1 && std::abs(pix % 5 - 2) <= 1;
            INFO("type " << type << " pixel " << pix);
            if (visible && in_window) CHECK(g[size_t(pix)] != 0.0);
            else CHECK(g[size_t(pix)] == 0.0);
        }
    }
}

TEST_CASE("nn::BatchNorm2d: training uses batch statistics and updates the running ones") {
    manual_seed(5);
    auto bn = mk64<nn::BatchNorm2d>(3, 1e-5, 0.1);
    nn::init::uniform_(bn->weight, 0.5, 1.5);
    nn::init::normal_(bn->bias);
    Tensor x = add(mul(randn64({4, 3, 2, 3}), 2.0), 1.0);
    auto [mean, var] = channel_stats(x);
    std::vector<double> w = bn->weight.to_vector<double>(), b = bn->bias.to_vector<double>();

    check_close((*bn)(x), normalize_loops(x, mean, var, w, b, 1e-5), 1e-10, 1e-12);
    const double count = 4 * 2 * 3;
    std::vector<double> rm(3), rv(3);
    for (size_t c = 0; c < 3; ++c) {
        rm[c] = 0.9 * 0.0 + 0.1 * mean[c];
        rv[c] = 0.9 * 1.0 + 0.1 * var[c] * count / (count - 1);  // unbiased variance
    }
    check_close(bn->running_mean, from_vector(rm, Shape{3}), 1e-12, 1e-14);
    check_close(bn->running_var, from_vector(rv, Shape{3}), 1e-12, 1e-14);
    CHECK(bn->num_batches_tracked.dtype() == DType::Int64);
    CHECK(bn->num_batches_tracked.dim() == 0);
    CHECK(bn->num_batches_tracked.item() == 1);

    bn->eval();
    Tensor x2 = randn64({2, 3, 2, 2});
    check_close((*bn)(x2), normalize_loops(x2, rm, rv, w, b, 1e-5), 1e-10, 1e-12);
    CHECK(bn->num_batches_tracked.item() == 1);  // eval leaves the statistics alone
    check_close(bn->running_mean, from_vector(rm, Shape{3}), 1e-12, 1e-14);
    CHECK(contains(error_of([&] { (*bn)(randn64({2, 3})); }), "4-D"));
}

TEST_CASE("nn::BatchNorm1d: [N, C] and [N, C, L], cumulative average, no running stats") {
    manual_seed(6);
    auto bn = mk64<nn::BatchNorm1d>(3, 1e-5, std::nullopt);  // momentum None: cumulative average
    Tensor x = randn64({5, 3});
    auto [mean, var] = channel_stats(x);
    check_close((*bn)(x), normalize_loops(x, mean, var, {1, 1, 1}, {0, 0, 0}, 1e-5), 1e-10, 1e-12);
    std::vector<double> rm = mean;  // factor 1/1: the first batch's statistics
    check_close(bn->running_mean, from_vector(rm, Shape{3}), 1e-12, 1e-14);
    Tensor x3 = randn64({2, 3, 4});
    auto [mean3, var3] = channel_stats(x3);
    check_close((*bn)(x3), normalize_loops(x3, mean3, var3, {1, 1, 1}, {0, 0, 0}, 1e-5), 1e-10, 1e-12);
    for (size_t c = 0; c < 3; ++c) rm[c] = 0.5 * rm[c] + 0.5 * mean3[c];  // factor 1/2
    check_close(bn->running_mean, from_vector(rm, Shape{3}), 1e-12, 1e-14);
    CHECK(bn->num_batches_tracked.item() == 2);

    auto plain = mk64<nn::BatchNorm1d>(3, 1e-5, 0.1, false, false);
    CHECK(plain->state_dict().empty());
    plain->eval();  // without running statistics, eval still normalises with the batch's
    check_close((*plain)(x), normalize_loops(x, mean, var, {1, 1, 1}, {0, 0, 0}, 1e-5), 1e-10, 1e-12);
    CHECK(contains(error_of([&] { (*plain)(randn64({2, 3, 2, 2})); }), "2-D or 3-D"));
}

TEST_CASE("nn::LayerNorm normalises the trailing dims of each sample") {
    manual_seed(7);
    auto ln = mk64<nn::LayerNorm>(Shape{2, 3}, 1e-5);
    nn::init::normal_(ln->weight);
    nn::init::normal_(ln->bias);
    Tensor x = randn64({4, 2, 3});
    std::vector<double> v = x.to_vector<double>(), w = ln->weight.to_vector<double>(), b = ln->bias.to_vector<double>();
    for (int n = 0; n < 4; ++n) {
        double mean = 0, var = 0;
        for (int k = 0; k < 6; ++k) mean += v[size_t(n * 6 + k)] / 6;
        for (int k = 0; k < 6; ++k) var += std::pow(v[size_t(n * 6 + k)] - mean, 2) / 6;
        for (int k = 0; k < 6; ++k)
            v[size_t(n * 6 + k)] = (v[size_t(n * 6 + k)] - mean) / std::sqrt(var + 1e-5) * w[size_t(k)] + b[size_t(k)];
    }
    check_close((*ln)(x), from_vector(v, x.shape()), 1e-10, 1e-12);
    CHECK(mk<nn::LayerNorm>(6, 1e-5, false)->parameters().empty());
    CHECK(contains(error_of([&] { (*ln)(randn64({4, 3, 2})); }), "normalized_shape"));
}

TEST_CASE("nn::Embedding looks up rows") {
    manual_seed(8);
    auto emb = mk64<nn::Embedding>(5, 3);
    Tensor idx = from_vector(std::vector<int64_t>{4, 0, 4, 2}, Shape{2, 2});
    Tensor y = (*emb)(idx);
    REQUIRE(y.shape() == Shape{2, 2, 3});
    std::vector<double> w = emb->weight.to_vector<double>(), yv = y.to_vector<double>();
    const int64_t rows[] = {4, 0, 4, 2};
    for (int i = 0; i < 4; ++i)
        for (int d = 0; d < 3; ++d) CHECK(yv[size_t(i * 3 + d)] == w[size_t(rows[i] * 3 + d)]);
}

TEST_CASE("nn::Dropout: scaled mask in training, identity in eval") {
    manual_seed(9);
    Tensor x = add(rand({2000}, {DType::Float64}), 1.0);  // all positive, so no kept value is 0
    nn::Dropout drop(0.25);
    Tensor y = drop(x);
    std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
    int zeros = 0;
    for (size_t i = 0; i < xv.size(); ++i) {
        if (yv[i] == 0.0) ++zeros;
        else CHECK(yv[i] == doctest::Approx(xv[i] / 0.75).epsilon(1e-12));
    }
    CHECK(zeros > 400);  // expected 500, standard deviation ~19
    CHECK(zeros < 600);
    drop.eval();
    check_close(drop(x), x, 0, 0);
    CHECK(contains(error_of([] { nn::Dropout(1.5); }), "[0, 1]"));
}

TEST_CASE("nn::Flatten and nn::Unflatten reshape") {
    Tensor x = arange(0, 24, 1, {DType::Float64}).reshape({2, 3, 2, 2});
    CHECK(nn::Flatten()(x).shape() == Shape{2, 12});
    CHECK(nn::Flatten(1, 2)(x).shape() == Shape{2, 6, 2});
    CHECK(nn::Flatten(0)(x).shape() == Shape{24});
    check_close(nn::Flatten()(x).reshape({24}), arange(0, 24, 1, {DType::Float64}), 0, 0);
    Tensor flat = x.reshape({2, 12});
    CHECK(nn::Unflatten(1, {3, 4})(flat).shape() == Shape{2, 3, 4});
    CHECK(nn::Unflatten(-1, {2, -1})(flat).shape() == Shape{2, 2, 6});
    check_close(nn::Unflatten(1, {3, 2, 2})(flat), x, 0, 0);
    CHECK(contains(error_of([&] { nn::Unflatten(1, {5, 2})(flat); }), "cannot be unflattened"));
}

TEST_CASE("nn activation modules apply their formulas") {
    manual_seed(10);
    Tensor x = mul(randn64({50}), 4.0);
    std::vector<double> xv = x.to_vector<double>();
    auto expect = [&](nn::Module& m, auto f) {
        std::vector<double> want(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) want[i] = f(xv[i]);
        INFO(m.repr());
        check_close(m(x), from_vector(want, x.shape()), 1e-12, 1e-14);
    };
    nn::ReLU relu_m;
    expect(relu_m, [](double v) { return v > 0 ? v : 0.0; });
    nn::LeakyReLU leaky(0.2);
    expect(leaky, [](double v) { return v > 0 ? v : 0.2 * v; });
    nn::ELU elu_m(0.5);
    expect(elu_m, [](double v) { return v > 0 ? v : 0.5 * (std::exp(v) - 1); });
    nn::Tanh tanh_m;
    expect(tanh_m, [](double v) { return std::tanh(v); });
    nn::Sigmoid sigmoid_m;
    expect(sigmoid_m, [](double v) { return 1 / (1 + std::exp(-v)); });
    nn::Softplus softplus_m;
    expect(softplus_m, [](double v) { return std::log1p(std::exp(v)); });
    nn::Softplus sharp(2.0, 3.0);  // identity where 2x > 3
    expect(sharp, [](double v) { return 2 * v > 3 ? v : std::log1p(std::exp(2 * v)) / 2; });
    nn::GELU gelu_m;
    expect(gelu_m, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
    nn::Identity id;
    expect(id, [](double v) { return v; });
}

TEST_CASE("nn::Sequential composes its children in order") {
    manual_seed(11);
    auto fc1 = mk<nn::Linear>(3, 4);
    auto act = mk<nn::Tanh>();
    auto fc2 = mk<nn::Linear>(4, 2);
    nn::Sequential seq(fc1, act, fc2);
    seq.to(DType::Float64);
    Tensor x = randn64({5, 3});
    check_close(seq(x), (*fc2)(tanh((*fc1)(x))), 0, 0);
    CHECK(seq.size() == 3);
    CHECK(seq[1] == act);
    CHECK(seq.at<nn::Linear>(2) == fc2);
    CHECK(contains(error_of([&] { seq.at<nn::Linear>(1); }), "Tanh"));
    CHECK(contains(error_of([&] { seq[3]; }), "out of range"));
    auto pushed = seq.push_back(mk<nn::Sigmoid>());
    CHECK(seq.named_children().back().first == "3");
    CHECK(pushed->type_name() == "Sigmoid");
}

// ---- names, state, modes ---------------------------------------------------------------------
namespace {

// A nested model as PyTorch would write it: Sequential(Linear, Sequential(Conv, BatchNorm, ReLU)).
std::shared_ptr<nn::Sequential> nested_model() {
    return mk<nn::Sequential>(mk<nn::Linear>(2, 3),
                              mk<nn::Sequential>(mk<nn::Conv2d>(1, 2, 3), mk<nn::BatchNorm2d>(2), mk<nn::ReLU>()));
}

std::vector<std::string> names_of(const std::vector<nn::NamedTensor>& named) {
    std::vector<std::string> out;
    for (const auto& nt : named) out.push_back(nt.first);
    return out;
}

}  // namespace

TEST_CASE("nn::Module: state_dict and parameter names are PyTorch's") {
    auto net = nested_model();
    const std::vector<std::string> expected = {"0.weight",          "0.bias",           "1.0.weight",
                                               "1.0.bias",          "1.1.weight",       "1.1.bias",
                                               "1.1.running_mean",  "1.1.running_var",  "1.1.num_batches_tracked"};
    nn::StateDict sd = net->state_dict();
    CHECK(sd.keys() == expected);
    CHECK(sd.at("1.1.num_batches_tracked").dtype() == DType::Int64);
    CHECK(sd.at("1.1.num_batches_tracked").dim() == 0);
    CHECK(names_of(net->named_parameters()) ==
          std::vector<std::string>{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias"});
    CHECK(names_of(net->named_buffers()) ==
          std::vector<std::string>{"1.1.running_mean", "1.1.running_var", "1.1.num_batches_tracked"});
    // Tensor names (for graph exports) follow the registration path.
    for (const auto& [name, p] : net->named_parameters()) CHECK(p.name() == name);
    net->name_parameters("D.");
    CHECK(net->at<nn::Linear>(0)->weight.name() == "D.0.weight");
    CHECK(net->num_parameters() == (3 * 2 + 3) + (2 * 9 + 2) + (2 + 2));
    // state_dict shares storage with the module (as PyTorch's detached tensors do).
    CHECK(sd.at("0.weight").data<float>() == net->at<nn::Linear>(0)->weight.data<float>());
    CHECK(!sd.at("0.weight").requires_grad());

    std::vector<std::string> module_names;
    for (auto& [name, m] : net->named_modules()) module_names.push_back(name + ":" + m->type_name());
    CHECK(module_names == std::vector<std::string>{":Sequential", "0:Linear", "1:Sequential", "1.0:Conv2d",
                                                   "1.1:BatchNorm2d", "1.2:ReLU"});
}

TEST_CASE("nn::Module: a user module registers parameters, buffers and children") {
    struct Block : nn::Module {
        std::shared_ptr<nn::Linear> fc;
        Tensor scale, steps;
        Block() {
            scale = register_parameter("scale", ones({3}));
            steps = register_buffer("steps", zeros({1}));
            fc = register_module("fc", mk<nn::Linear>(3, 3));
        }
        Tensor forward(const Tensor& x) override { return mul((*fc)(x), scale); }
    };
    auto block = mk<Block>();
    CHECK(block->type_name() == "Block");
    CHECK(block->state_dict().keys() == std::vector<std::string>{"scale", "steps", "fc.weight", "fc.bias"});
    CHECK(block->scale.requires_grad());
    CHECK(!block->steps.requires_grad());
    CHECK(contains(error_of([&] { block->register_parameter("scale", ones({1})); }), "already taken"));
    CHECK(contains(error_of([&] { block->register_buffer("a.b", ones({1})); }), "no '.'"));
    CHECK(contains(error_of([&] { block->register_module("self", std::shared_ptr<nn::Module>(block)); }), "cycle"));
    CHECK(contains(error_of([] { nn::Module m; m(ones({1})); }), "forward(x) is not implemented"));

    int visited = 0;
    block->apply([&](nn::Module& m) {
        if (auto* fc = m.as<nn::Linear>()) nn::init::zeros_(fc->weight);
        ++visited;
    });
    CHECK(visited == 2);
    CHECK(block->fc->weight.to_vector<float>() == std::vector<float>(9, 0.0f));
}

TEST_CASE("nn::Module::load_state_dict copies values and keeps the handles") {
    manual_seed(12);
    auto src = nested_model();
    auto dst = nested_model();
    (*src->at<nn::Sequential>(1))(randn({2, 1, 4, 4}));  // moves BatchNorm's statistics and counter
    Tensor dst_weight = dst->at<nn::Linear>(0)->weight;
    nn::LoadResult r = dst->load_state_dict(src->state_dict());
    CHECK(r.missing_keys.empty());
    CHECK(r.unexpected_keys.empty());
    for (const auto& [name, t] : src->state_dict()) check_close(dst->state_dict().at(name), t, 0, 0);
    CHECK(dst->at<nn::Linear>(0)->weight.is_same(dst_weight));
    CHECK(dst_weight.requires_grad());
    CHECK(dst->state_dict().at("1.1.num_batches_tracked").item() == 1);
}

TEST_CASE("nn::Module::load_state_dict validates everything first and loads nothing on error") {
    manual_seed(13);
    auto net = nested_model();
    auto snapshot = [&] {
        std::vector<std::vector<double>> v;
        for (const auto& [name, t] : net->state_dict()) v.push_back(t.to_vector<double>());
        return v;
    };
    const auto before = snapshot();
    const nn::StateDict good = nested_model()->state_dict();  // other random values, same names
    auto without = [&](const std::string& skip) {
        nn::StateDict sd;
        for (const auto& [name, t] : good)
            if (name != skip) sd.insert(name, t);
        return sd;
    };

    SUBCASE("missing key") {
        std::string msg = error_of([&] { net->load_state_dict(without("1.1.running_var")); });
        CHECK(contains(msg, "missing key '1.1.running_var'"));
        CHECK(contains(msg, "nothing was loaded"));
        CHECK(snapshot() == before);
    }
    SUBCASE("unexpected key") {
        nn::StateDict sd = without("");
        sd.insert("2.weight", zeros({3}));
        CHECK(contains(error_of([&] { net->load_state_dict(sd); }), "unexpected key '2.weight'"));
        CHECK(snapshot() == before);
    }
    SUBCASE("wrong shape, wrong dtype and a missing key: all reported at once") {
        nn::StateDict sd;
        for (const auto& [name, t] : good) {
            if (name == "0.bias") sd.insert(name, zeros({4}));
            else if (name == "1.0.weight") sd.insert(name, t.to(DType::Float64));
            else if (name != "0.weight") sd.insert(name, t);
        }
        std::string msg = error_of([&] { net->load_state_dict(sd); });
        CHECK(contains(msg, "3 problems"));
        CHECK(contains(msg, "'0.bias': shape [4] in the state dict, [3] in the module"));
        CHECK(contains(msg, "'1.0.weight': dtype float64 in the state dict, float32 in the module"));
        CHECK(contains(msg, "missing key '0.weight'"));
        CHECK(snapshot() == before);
        // Non-strict loading forgives missing keys, not wrong shapes.
        CHECK(contains(error_of([&] { net->load_state_dict(sd, false); }), "shape [4]"));
        CHECK(snapshot() == before);
    }
    SUBCASE("non-strict loading skips missing and unexpected keys and loads the rest") {
        nn::StateDict sd = without("0.bias");
        sd.insert("extra", zeros({1}));
        nn::LoadResult r = net->load_state_dict(sd, /*strict=*/false);
        CHECK(r.missing_keys == std::vector<std::string>{"0.bias"});
        CHECK(r.unexpected_keys == std::vector<std::string>{"extra"});
        check_close(net->state_dict().at("0.weight"), good.at("0.weight"), 0, 0);
        check_close(net->state_dict().at("0.bias"), from_vector(before[1], Shape{3}), 0, 0);  // kept
    }
}

TEST_CASE("nn::Module: train() and eval() switch BatchNorm and Dropout, recursively") {
    manual_seed(14);
    auto net = mk<nn::Sequential>(mk<nn::Linear>(4, 4),
                                  mk<nn::Sequential>(mk<nn::BatchNorm1d>(4), mk<nn::Dropout>(0.5)));
    net->to(DType::Float64);
    CHECK(net->is_training());
    Tensor x = randn64({64, 4});
    auto bn = net->at<nn::Sequential>(1)->at<nn::BatchNorm1d>(0);

    Tensor y_train = (*net)(x);
    int zeros_train = 0;
    for (double v : y_train.to_vector<double>()) zeros_train += v == 0.0;
    CHECK(zeros_train > 64);  // about half of 256
    CHECK(bn->num_batches_tracked.item() == 1);

    net->eval();
    for (auto& [name, m] : net->named_modules()) CHECK(!m->is_training());
    Tensor h = (*net->at<nn::Linear>(0))(x);
    Tensor y_eval = (*net)(x);
    // eval: the running statistics, no dropout.
    check_close(y_eval, batch_norm(h, bn->running_mean, bn->running_var, bn->weight, bn->bias, false), 1e-12, 1e-12);
    check_close((*net)(x), y_eval, 0, 0);  // deterministic
    CHECK(bn->num_batches_tracked.item() == 1);
    net->train();
    CHECK(bn->is_training());
}

TEST_CASE("nn::Module::to(DType) keeps the handles and casts floating tensors only") {
    manual_seed(15);
    auto net = nested_model();
    Tensor w = net->at<nn::Linear>(0)->weight;
    std::vector<double> before = w.to_vector<double>();
    Tensor loss = sum((*net->at<nn::Linear>(0))(randn({2, 2})));
    loss.backward();
    REQUIRE(w.grad().defined());

    net->to(DType::Float64);
    CHECK(w.dtype() == DType::Float64);
    CHECK(w.is_same(net->parameters()[0]));
    CHECK(w.requires_grad());
    CHECK(w.name() == "0.weight");
    CHECK(w.to_vector<double>() == before);
    CHECK(w.grad().dtype() == DType::Float64);
    CHECK(net->state_dict().at("1.1.num_batches_tracked").dtype() == DType::Int64);
    CHECK(net->state_dict().at("1.1.running_var").dtype() == DType::Float64);
    CHECK((*net->at<nn::Linear>(0))(randn64({3, 2})).dtype() == DType::Float64);
    CHECK(contains(error_of([&] { net->to(DType::Int64); }), "floating"));

    net->zero_grad();
    CHECK(!w.grad().defined());
}

// ---- initializers ----------------------------------------------------------------------------
namespace {

struct Stats {
    double mean = 0, var = 0, max_abs = 0;
};
Stats stats_of(const Tensor& t) {
    std::vector<double> v = t.to_vector<double>();
    Stats s;
    for (double x : v) s.mean += x / double(v.size());
    for (double x : v) {
        s.var += (x - s.mean) * (x - s.mean) / double(v.size());
        s.max_abs = std::max(s.max_abs, std::abs(x));
    }
    return s;
}

}  // namespace

TEST_CASE("nn::init: fans and gains as PyTorch computes them") {
    using namespace nn::init;
    CHECK(calculate_fan_in_and_fan_out(empty({5, 3})) == std::pair<int64_t, int64_t>{3, 5});
    CHECK(calculate_fan_in_and_fan_out(empty({8, 4, 3, 2})) == std::pair<int64_t, int64_t>{24, 48});
    CHECK(contains(error_of([] { calculate_fan_in_and_fan_out(empty({5})); }), "at least 2 dimensions"));
    CHECK(calculate_gain(Nonlinearity::Linear) == 1.0);
    CHECK(calculate_gain(Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0));
    CHECK(calculate_gain(Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)));
    CHECK(calculate_gain(Nonlinearity::LeakyReLU) == doctest::Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
    CHECK(calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3.0)));
    CHECK(calculate_gain(Nonlinearity::SELU) == 0.75);
}

TEST_CASE("nn::init: distributions have the right bounds and moments") {
    using namespace nn::init;
    manual_seed(16);
    Tensor w = empty({256, 128, 3, 3});  // fan_in 1152, fan_out 2304; 295k draws
    const double fan_in = 128 * 9, fan_out = 256 * 9;

    double bound = std::sqrt(2.0) * std::sqrt(3.0 / fan_in);  // gain(relu) * sqrt(3 / fan_in)
    Stats s = stats_of(kaiming_uniform_(w, 0.0, FanMode::FanIn, Nonlinearity::ReLU));
    CHECK(s.max_abs <= bound);
    CHECK(s.max_abs > 0.999 * bound);
    CHECK(std::abs(s.mean) < 0.01 * bound);
    CHECK(s.var == doctest::Approx(bound * bound / 3).epsilon(0.01));

    double std_out = std::sqrt(2.0 / (1 + 0.04)) / std::sqrt(fan_out);
    s = stats_of(kaiming_normal_(w, 0.2, FanMode::FanOut));
    CHECK(std::sqrt(s.var) == doctest::Approx(std_out).epsilon(0.01));

    double a = 2.0 * std::sqrt(6.0 / (fan_in + fan_out));
    s = stats_of(xavier_uniform_(w, 2.0));
    CHECK(s.max_abs <= a);
    CHECK(s.max_abs > 0.999 * a);
    s = stats_of(xavier_normal_(w));
    CHECK(std::sqrt(s.var) == doctest::Approx(std::sqrt(2.0 / (fan_in + fan_out))).epsilon(0.01));

    s = stats_of(normal_(w, 1.0, 0.02));
    CHECK(s.mean == doctest::Approx(1.0).epsilon(1e-3));
    CHECK(std::sqrt(s.var) == doctest::Approx(0.02).epsilon(0.01));
    s = stats_of(uniform_(w, -3, -1));
    CHECK(s.mean == doctest::Approx(-2.0).epsilon(1e-3));
    CHECK(s.max_abs <= 3.0);
    CHECK(constant_(w, 0.5).to_vector<float>() == std::vector<float>(size_t(w.numel()), 0.5f));

    // In place on a parameter (requires grad), and reproducible from the seed.
    Tensor p = zeros({4, 4}).requires_grad_();
    manual_seed(3);
    std::vector<float> first = normal_(p).to_vector<float>();
    manual_seed(3);
    CHECK(normal_(p).to_vector<float>() == first);
    CHECK(p.requires_grad());
}

TEST_CASE("nn layers start from PyTorch's default init") {
    manual_seed(17);
    // Linear / Conv: kaiming_uniform(a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias the same.
    auto fc = mk<nn::Linear>(400, 300);
    double bound = 1.0 / std::sqrt(400.0);
    Stats w = stats_of(fc->weight), b = stats_of(fc->bias);
    CHECK(w.max_abs <= bound);
    CHECK(w.max_abs > 0.99 * bound);
    CHECK(w.var == doctest::Approx(bound * bound / 3).epsilon(0.02));
    CHECK(b.max_abs <= bound);
    CHECK(b.max_abs > 0.9 * bound);

    auto conv = mk<nn::Conv2d>(16, 32, 3);
    bound = 1.0 / std::sqrt(16.0 * 9);
    CHECK(stats_of(conv->weight).max_abs <= bound);
    CHECK(stats_of(conv->weight).max_abs > 0.99 * bound);
    CHECK(stats_of(conv->bias).max_abs <= bound);

    // ConvTranspose2d: weight [in, out/groups, k, k], fan_in from dim 1 = out/groups * k * k.
    auto up = mk<nn::ConvTranspose2d>(64, 8, 4, 2, 1);
    bound = 1.0 / std::sqrt(8.0 * 16);
    CHECK(stats_of(up->weight).max_abs <= bound);
    CHECK(stats_of(up->weight).max_abs > 0.99 * bound);
    CHECK(stats_of(up->bias).max_abs <= bound);

    auto bn = mk<nn::BatchNorm2d>(5);
    CHECK(bn->weight.to_vector<float>() == std::vector<float>(5, 1.0f));
    CHECK(bn->bias.to_vector<float>() == std::vector<float>(5, 0.0f));
    CHECK(bn->running_var.to_vector<float>() == std::vector<float>(5, 1.0f));

    Stats e = stats_of(mk<nn::Embedding>(1000, 100)->weight);  // N(0, 1)
    CHECK(std::abs(e.mean) < 0.01);
    CHECK(e.var == doctest::Approx(1.0).epsilon(0.02));
}

// ---- gradients and printing -------------------------------------------------------------------
TEST_CASE("nn::Sequential: gradcheck through its parameters in float64") {
    manual_seed(18);
    auto net = mk<nn::Sequential>(mk<nn::Conv2d>(2, 3, 3, 1, 1), mk<nn::BatchNorm2d>(3), mk<nn::ELU>(),
                                  mk<nn::Flatten>(), mk<nn::Linear>(3 * 3 * 3, 4), mk<nn::LayerNorm>(4),
                                  mk<nn::Softplus>(), mk<nn::Linear>(4, 2), mk<nn::Tanh>());
    net->to(DType::Float64);
    Tensor x = randn64({3, 2, 3, 3}).requires_grad_();
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : net->parameters()) inputs.push_back(p);
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>&) { return (*net)(x); }, inputs);
    INFO(r.message);
    CHECK(r.ok);
}

TEST_CASE("nn::Module::repr prints like PyTorch") {
    auto net = mk<nn::Sequential>(
        mk<nn::Conv2d>(1, 64, 4, 2, 1), mk<nn::LeakyReLU>(0.2),
        mk<nn::Sequential>(mk<nn::Conv2d>(64, 128, 4, 2, 1, 1, 1, false), mk<nn::BatchNorm2d>(128)),
        mk<nn::Flatten>(), mk<nn::Linear>(128 * 7 * 7, 1), mk<nn::Dropout>(0.5), mk<nn::Sequential>());
    CHECK(net->repr() ==
          "Sequential(\n"
          "  (0): Conv2d(1, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))\n"
          "  (1): LeakyReLU(negative_slope=0.2)\n"
          "  (2): Sequential(\n"
          "    (0): Conv2d(64, 128, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)\n"
          "    (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
          "  )\n"
          "  (3): Flatten(start_dim=1, end_dim=-1)\n"
          "  (4): Linear(in_features=6272, out_features=1, bias=True)\n"
          "  (5): Dropout(p=0.5, inplace=False)\n"
          "  (6): Sequential()\n"
          ")");
    CHECK(nn::MaskedConv2d('A', 1, 64, 7, 3, false).repr() ==
          "MaskedConv2d('A', 1, 64, kernel_size=(7, 7), stride=(1, 1), padding=(3, 3), bias=False)");
    CHECK(nn::ConvTranspose2d(128, 64, 4, 2, 1).repr() ==
          "ConvTranspose2d(128, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))");
    CHECK(nn::BatchNorm1d(3, 1e-3, std::nullopt).repr() ==
          "BatchNorm1d(3, eps=0.001, momentum=None, affine=True, track_running_stats=True)");
    CHECK(nn::LayerNorm(Shape{3, 4}).repr() == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)");
    CHECK(nn::Unflatten(1, {128, 7, 7}).repr() == "Unflatten(dim=1, unflattened_size=(128, 7, 7))");
    CHECK(nn::ELU().repr() == "ELU(alpha=1.0)");
    CHECK(nn::Embedding(10, 3).repr() == "Embedding(10, 3)");
}
