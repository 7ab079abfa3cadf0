// PixelRNN's ops and the loss / pooling options of issue 21: lstm_cell, skew / unskew,
// max_pool2d_with_indices, cross_entropy's options and BCE's pos_weight.
//
// Kernels: every lstm_cell / skew / unskew variant against "reference" (odd widths, a row
// shorter than a vector, sizes above the thread threshold). Ops: values and gradients against
// PyTorch's (tests/reference/fixtures/recurrent_ops_reference.json, written by
// tests/reference/make_recurrent_reference.py from the same closed-form inputs), skew against
// its definition, and the errors. Gradchecks are in test_gradcheck.cpp.
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "helpers.h"
#include "kernels/lstm.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

constexpr auto kCpu = Device::CPU;

const nlohmann::json& reference_doc() {
    static const nlohmann::json doc = [] {
        const std::string path =
            std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/recurrent_ops_reference.json";
        std::ifstream f(path);
        REQUIRE_MESSAGE(f.good(), "cannot open " << path);
        return nlohmann::json::parse(f);
    }();
    return doc;
}
// PyTorch's numbers for `name`, in the shape given (float64).
Tensor reference(const std::string& name, const Shape& shape) {
    REQUIRE_MESSAGE(reference_doc().contains(name), "recurrent_ops_reference.json has no '" << name << "'");
    return from_vector(reference_doc().at(name).get<std::vector<double>>(), shape);
}
std::vector<int64_t> reference_indices(const std::string& name) {
    REQUIRE_MESSAGE(reference_doc().contains(name), "recurrent_ops_reference.json has no '" << name << "'");
    return reference_doc().at(name).get<std::vector<int64_t>>();
}

// The script's inputs: scale * sin(a * k + b) at element k, float64.
Tensor wave(const Shape& shape, double a, double b, double scale = 1.0) {
    std::vector<double> v(size_t(shape.numel()));
    for (size_t k = 0; k < v.size(); ++k) v[k] = scale * std::sin(a * double(k) + b);
    return from_vector(v, shape);
}

Tensor uniform(const Shape& s, DType dt, double lo, double hi) { return rand(s, {dt}, lo, hi); }

}  // namespace

// ---- kernels ----------------------------------------------------------------------------------

TEST_CASE("lstm kernels: every lstm_cell variant matches the reference, forward and backward") {
    manual_seed(3);
    const std::vector<K::LstmCellShape> shapes = {{1, 1}, {3, 5}, {7, 33}, {2, 16}, {448, 64}, {300, 100}};
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double rtol = dt == DType::Float32 ? 1e-5 : 1e-14, atol = dt == DType::Float32 ? 2e-6 : 1e-15;
        for (const K::LstmCellShape& s : shapes) {
            Tensor gates = uniform({s.n, 4 * s.hidden}, dt, -6, 6), c_prev = uniform({s.n, s.hidden}, dt, -3, 3);
            Tensor grad_out = uniform({2, s.n, s.hidden}, dt, -1, 1);
            TensorOptions o{dt};
            Tensor ref_out = empty({2, s.n, s.hidden}, o), ref_dg = empty(gates.shape(), o),
                   ref_dc = empty(c_prev.shape(), o);
            K::lstm_cell_forward_table().get("reference", kCpu, dt)(s, gates.raw_data(), c_prev.raw_data(),
                                                                    ref_out.raw_data());
            K::lstm_cell_backward_table().get("reference", kCpu, dt)(s, gates.raw_data(), c_prev.raw_data(),
                                                                     grad_out.raw_data(), ref_dg.raw_data(),
                                                                     ref_dc.raw_data());
            const std::vector<std::string> variants = cpu_variants(K::lstm_cell_forward_table(), dt);
            CHECK(variants.size() >= 2);
            for (const std::string& v : variants) {
                CAPTURE(v);
                CAPTURE(dt);
                CAPTURE(s.n);
                CAPTURE(s.hidden);
                Tensor out = full(ref_out.shape(), NAN, o), dg = full(gates.shape(), NAN, o),
                       dc = full(c_prev.shape(), NAN, o);
                K::lstm_cell_forward_table().get(v, kCpu, dt)(s, gates.raw_data(), c_prev.raw_data(), out.raw_data());
                K::lstm_cell_backward_table().get(v, kCpu, dt)(s, gates.raw_data(), c_prev.raw_data(),
                                                               grad_out.raw_data(), dg.raw_data(), dc.raw_data());
                check_close(out, ref_out, rtol, atol);
                check_close(dg, ref_dg, rtol, atol);
                check_close(dc, ref_dc, rtol, atol);
            }
        }
    }
}

TEST_CASE("lstm kernels: every skew / unskew variant matches the definition exactly") {
    manual_seed(4);
    for (DType dt : {DType::Float32, DType::Float64})
        for (K::SkewShape s : {K::SkewShape{1, 1, 1}, K::SkewShape{3, 4, 7}, K::SkewShape{2, 6, 3},
                               K::SkewShape{64, 28, 28}}) {
            Tensor x = uniform({s.planes, s.h, s.w}, dt, -1, 1);
            std::vector<double> xv = x.to_vector<double>(), expected(size_t(s.planes * s.h * s.skewed_w()), 0.0);
            for (int64_t p = 0; p < s.planes; ++p)
                for (int64_t i = 0; i < s.h; ++i)
                    for (int64_t j = 0; j < s.w; ++j)
                        expected[size_t((p * s.h + i) * s.skewed_w() + i + j)] = xv[size_t((p * s.h + i) * s.w + j)];
            for (const std::string& v : cpu_variants(K::skew_table(), dt)) {
                CAPTURE(v);
                CAPTURE(s.h);
                Tensor y = full({s.planes, s.h, s.skewed_w()}, NAN, {dt}), back = full(x.shape(), NAN, {dt});
                K::skew_table().get(v, kCpu, dt)(s, x.raw_data(), y.raw_data());
                K::unskew_table().get(v, kCpu, dt)(s, y.raw_data(), back.raw_data());
                CHECK(y.to_vector<double>() == expected);
                CHECK(back.to_vector<double>() == xv);
            }
        }
}

// ---- lstm_cell --------------------------------------------------------------------------------

TEST_CASE("lstm_cell: h, c and both gradients match PyTorch's torch.lstm_cell") {
    const int64_t N = 3, H = 5;
    for (DType dt : {DType::Float64, DType::Float32}) {
        CAPTURE(dt);
        const double tol = dt == DType::Float64 ? 1e-12 : 2e-6;
        Tensor gates = wave({N, 4 * H}, 0.7, 0.3, 3.0).to(dt).requires_grad_();
        Tensor c_prev = wave({N, H}, 0.9, 1.1, 2.0).to(dt).requires_grad_();
        Tensor hc = lstm_cell(gates, c_prev);
        REQUIRE(hc.shape() == Shape({2, N, H}));
        Tensor h = hc.select(0, 0), c = hc.select(0, 1);
        check_close(h, reference("lstm_h", {N, H}), tol, tol);
        check_close(c, reference("lstm_c", {N, H}), tol, tol);
        sum(h * wave({N, H}, 0.3, 0.2).to(dt) + c * wave({N, H}, 0.5, 0.7).to(dt)).backward();
        check_close(gates.grad(), reference("lstm_grad_gates", {N, 4 * H}), tol, tol);
        check_close(c_prev.grad(), reference("lstm_grad_c_prev", {N, H}), tol, tol);
    }
}

TEST_CASE("lstm_cell: the fused backward and the create_graph backward agree") {
    manual_seed(5);
    Tensor gates = uniform({6, 4 * 7}, DType::Float64, -3, 3).requires_grad_();
    Tensor c_prev = uniform({6, 7}, DType::Float64, -2, 2).requires_grad_();
    Tensor g = uniform({2, 6, 7}, DType::Float64, -1, 1);
    Tensor out = lstm_cell(gates, c_prev);
    std::vector<Tensor> fused = autograd::grad({out}, {gates, c_prev}, {g}, true, false);
    std::vector<Tensor> composite = autograd::grad({out}, {gates, c_prev}, {g}, false, true);
    check_close(fused[0], composite[0].detach(), 1e-13, 1e-14);
    check_close(fused[1], composite[1].detach(), 1e-13, 1e-14);
}

TEST_CASE("lstm_cell: a state or gates of the wrong shape is an error naming both shapes") {
    Tensor gates = zeros({4, 12}), c = zeros({4, 3});
    CHECK(contains(error_of([&] { lstm_cell(gates, zeros({4, 4})); }), "lstm_cell: the state c_prev must be [N, H] = [4, 3] for gates [4, 12], got [4, 4]"));
    CHECK(contains(error_of([&] { lstm_cell(zeros({4, 10}), c); }), "lstm_cell: gates must be [N, 4H], got [4, 10]"));
    CHECK(contains(error_of([&] { lstm_cell(zeros({4, 3, 4}), c); }), "gates must be [N, 4H]"));
    CHECK(contains(error_of([&] { lstm_cell(gates, zeros({4, 3}, {DType::Float64})); }), "lstm_cell: dtype mismatch"));
    CHECK(lstm_cell(zeros({0, 8}), zeros({0, 2})).shape() == Shape({2, 0, 2}));
}

// ---- skew / unskew ----------------------------------------------------------------------------

TEST_CASE("skew: row i moves right by i, zeros elsewhere; unskew undoes it; each is the other's backward") {
    Tensor x = wave({2, 3, 4, 5}, 0.4, 0.1).requires_grad_();
    Tensor y = skew(x);
    REQUIRE(y.shape() == Shape({2, 3, 4, 8}));
    std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
    for (int64_t p = 0; p < 6; ++p)
        for (int64_t i = 0; i < 4; ++i)
            for (int64_t j = 0; j < 8; ++j) {
                const bool inside = j >= i && j < i + 5;
                CHECK(yv[size_t((p * 4 + i) * 8 + j)] == (inside ? xv[size_t((p * 4 + i) * 5 + j - i)] : 0.0));
            }
    Tensor back = unskew(y);
    CHECK(back.to_vector<double>() == xv);
    // the gradient of sum(unskew(skew(x)) * w) is w: the two backwards invert each other
    Tensor w = wave({2, 3, 4, 5}, 0.8, 0.3);
    sum(back * w).backward();
    CHECK(x.grad().to_vector<double>() == w.to_vector<double>());
    // skew's backward drops the zeros' gradient: d sum(skew(x) * v) / dx = unskew(v)
    x.set_grad({});
    Tensor v = wave({2, 3, 4, 8}, 0.5, 0.9);
    sum(skew(x) * v).backward();
    CHECK(x.grad().to_vector<double>() == unskew(v).to_vector<double>());
}

TEST_CASE("skew / unskew: shapes that cannot be skewed are errors") {
    CHECK(contains(error_of([] { skew(zeros({2, 3, 4})); }), "skew: input must be [N, C, H, W], got [2, 3, 4]"));
    CHECK(contains(error_of([] { skew(zeros({1, 1, 0, 3})); }), "skew: input [1, 1, 0, 3] has no rows"));
    CHECK(contains(error_of([] { unskew(zeros({1, 2, 5, 4})); }),
                   "unskew: input [1, 2, 5, 4] must be skewed [N, C, H, W + H - 1], at least H = 5 wide"));
    CHECK(contains(error_of([] { skew(zeros({1, 1, 2, 2}, {DType::Int64})); }), "skew: expected a float32"));
}

// ---- max_pool2d_with_indices -------------------------------------------------------------------

TEST_CASE("max_pool2d_with_indices: PyTorch's values and flat indices, ties to the first maximum") {
    std::vector<double> v = wave({1, 2, 5, 6}, 1.3, 0.0, 3.0).to_vector<double>();
    for (double& e : v) e = std::nearbyint(e);  // torch.round: to nearest, ties to even; many equal values
    Tensor x = from_vector(v, {1, 2, 5, 6});
    struct Case {
        const char* name;
        int64_t k, s, p;
    };
    for (Case c : {Case{"pool_k3s2p1", 3, 2, 1}, Case{"pool_k2s2", 2, 2, 0}, Case{"pool_k2s1", 2, 1, 0}}) {
        CAPTURE(c.name);
        MaxPool2dResult r = max_pool2d_with_indices(x, c.k, c.s, c.p);
        CHECK(r.indices.dtype() == DType::Int64);
        CHECK(r.indices.shape() == r.values.shape());
        check_close(r.values, reference(std::string(c.name) + "_values", r.values.shape()), 0, 0);
        CHECK(r.indices.to_vector<int64_t>() == reference_indices(std::string(c.name) + "_indices"));
    }
}

TEST_CASE("max_pool2d_with_indices: the values' gradient is max_pool2d's; the indices have none") {
    manual_seed(6);
    Tensor x = rand({2, 3, 6, 6}, {DType::Float64}).requires_grad_();
    MaxPool2dResult r = max_pool2d_with_indices(x, 3, 2, 1);
    CHECK_FALSE(r.indices.requires_grad());
    Tensor w = wave(r.values.shape(), 0.7, 0.2);
    sum(r.values * w).backward();
    Tensor from_indices = x.grad().clone();
    x.set_grad({});
    sum(max_pool2d(x, 3, 2, 1) * w).backward();
    CHECK(from_indices.to_vector<double>() == x.grad().to_vector<double>());
    // the caller's indices are its own: writing to them leaves the backward alone
    r = max_pool2d_with_indices(x, 2);
    r.indices.fill_(0);
    x.set_grad({});
    sum(r.values).backward();
    CHECK(sum(x.grad()).item() == doctest::Approx(2 * 3 * 9));
    CHECK(x.grad().to_vector<double>() != zeros_like(x).to_vector<double>());
}

// ---- losses -------------------------------------------------------------------------------------

TEST_CASE("cross_entropy options: ignore_index, label_smoothing and weight match PyTorch, values and gradients") {
    Tensor logits = wave({4, 5}, 0.9, 0.4, 2.0);
    Tensor target = from_vector<int64_t>({1, 2, 4, 0});
    std::vector<double> w;
    for (int c = 0; c < 5; ++c) w.push_back(0.5 + 0.25 * c);
    Tensor weight = from_vector(w, {5});
    struct Case {
        const char* name;
        CrossEntropyOptions options;
    };
    const Case cases[] = {
        {"ce_ignore", {.ignore_index = 2}},
        {"ce_smooth", {.label_smoothing = 0.1}},
        {"ce_weight", {.weight = weight}},
        {"ce_all", {.ignore_index = 2, .label_smoothing = 0.2, .weight = weight}},
    };
    const std::pair<Reduction, const char*> reductions[] = {
        {Reduction::Mean, "mean"}, {Reduction::Sum, "sum"}, {Reduction::None, "none"}};
    for (const Case& c : cases)
        for (auto [reduction, red_name] : reductions) {
            const std::string name = std::string(c.name) + "_" + red_name;
            CAPTURE(name);
            Tensor x = logits.clone().detach().requires_grad_();
            CrossEntropyOptions o = c.options;
            o.reduction = reduction;
            Tensor loss = cross_entropy(x, target, o);
            check_close(loss, reference(name, loss.shape()), 1e-12, 1e-13);
            (reduction == Reduction::None ? sum(loss * wave(loss.shape(), 0.6, 0.1)) : loss).backward();
            check_close(x.grad(), reference(name + "_grad", x.shape()), 1e-12, 1e-13);
        }
    // [N, C, H, W] logits with ignored pixels (PyTorch's -100), smoothing and weights together
    Tensor spatial = wave({2, 3, 2, 2}, 1.1, 0.2, 2.0).requires_grad_();
    Tensor spatial_target = from_vector<int64_t>({0, 2, -100, 1, 2, -100, 0, 0}, {2, 2, 2});
    Tensor loss = cross_entropy(spatial, spatial_target,
                                CrossEntropyOptions{.ignore_index = -100, .label_smoothing = 0.3,
                                                    .weight = from_vector<double>({1.0, 2.0, 0.5})});
    check_close(loss, reference("ce_spatial_mean", {}), 1e-12, 1e-13);
    loss.backward();
    check_close(spatial.grad(), reference("ce_spatial_mean_grad", spatial.shape()), 1e-12, 1e-13);
}

TEST_CASE("cross_entropy options: the defaults are the fused cross_entropy; bad options are errors") {
    manual_seed(8);
    Tensor x = rand({6, 4}, {DType::Float32}), t = randint(0, 4, {6});
    CHECK(cross_entropy(x, t, CrossEntropyOptions{}).item() == cross_entropy(x, t).item());
    CHECK(contains(error_of([&] { cross_entropy(x, t, CrossEntropyOptions{.label_smoothing = 1.5}); }),
                   "cross_entropy: label_smoothing must be in [0, 1], got 1.5"));
    CHECK(contains(error_of([&] { cross_entropy(x, t, CrossEntropyOptions{.weight = ones({3})}); }),
                   "cross_entropy: weight must be [C] = [4] for logits [6, 4], got [3]"));
    Tensor bad = from_vector<int64_t>({0, 1, 7, -100, 2, 3});
    CHECK(contains(error_of([&] { cross_entropy(x, bad, CrossEntropyOptions{.ignore_index = -100}); }),
                   "cross_entropy: 1 of 6 targets out of range [0, 4) (the first: 7) and not ignore_index -100"));
    CHECK(contains(error_of([&] { cross_entropy(x, bad, CrossEntropyOptions{.label_smoothing = 0.1}); }),
                   "cross_entropy: 2 of 6 targets out of range [0, 4) (the first: 7)"));
    Tensor ignored = full({6}, 3.0, {DType::Int64});
    CHECK(contains(error_of([&] { cross_entropy(x, ignored, CrossEntropyOptions{.ignore_index = 3}); }),
                   "cross_entropy: the mean over 6 targets has no weight (all ignored, or of weight 0)"));
    // Sum over all-ignored targets is 0, as PyTorch's
    CHECK(cross_entropy(x, ignored, CrossEntropyOptions{.reduction = Reduction::Sum, .ignore_index = 3}).item() == 0.0);
}

TEST_CASE("binary_cross_entropy_with_logits: pos_weight matches PyTorch; a weight that does not broadcast is an error") {
    Tensor target = (wave({2, 3}, 0.8, 0.1) + 1.0) / 2.0;
    Tensor pos_weight = from_vector<double>({0.5, 1.0, 3.0});
    for (auto [reduction, name] : {std::pair{Reduction::Mean, "mean"}, std::pair{Reduction::None, "none"}}) {
        CAPTURE(name);
        Tensor x = wave({2, 3}, 1.7, 0.5, 4.0).requires_grad_();
        Tensor loss = binary_cross_entropy_with_logits(x, target, pos_weight, reduction);
        check_close(loss, reference(std::string("bce_pos_weight_") + name, loss.shape()), 1e-12, 1e-13);
        sum(loss).backward();
        check_close(x.grad(), reference(std::string("bce_pos_weight_") + name + "_grad", x.shape()), 1e-12, 1e-13);
    }
    // pos_weight = 1 is the plain loss
    Tensor x = wave({2, 3}, 1.7, 0.5, 4.0);
    check_close(binary_cross_entropy_with_logits(x, target, ones({3}, {DType::Float64})),
                binary_cross_entropy_with_logits(x, target), 1e-14, 1e-15);
    CHECK(contains(error_of([&] { binary_cross_entropy_with_logits(x, target, ones({2}, {DType::Float64})); }),
                   "binary_cross_entropy_with_logits: pos_weight [2] does not broadcast to the logits [2, 3]"));
}
