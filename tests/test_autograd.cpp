// The engine: accumulation, retain_graph, freed graphs, create_graph, grad(),
// no_grad, detach, hooks, anomaly mode and the DOT export.
#include "helpers.h"

using namespace mg;
using mg::test::check_close;
using mg::test::error_of;

TEST_CASE("gradients accumulate over uses and over calls") {
    Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
    Tensor y = sum(add(mul(x, x), mul(x, 3.0)));  // d/dx = 2x + 3
    y.backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{5.0, 7.0});
    sum(mul(x, 2.0)).backward();  // accumulates: + 2
    CHECK(x.grad().to_vector<double>() == std::vector<double>{7.0, 9.0});
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("retain_graph, and a clear error for a freed graph") {
    Tensor x = from_vector<double>({3.0}).requires_grad_();
    Tensor y = mul(exp(x), x);
    y.backward({}, /*retain_graph=*/true);
    double g1 = x.grad().item();
    y.backward();
    CHECK(x.grad().item() == doctest::Approx(2 * g1));
    std::string err = error_of([&] { y.backward(); });
    CHECK(err.find("retain_graph") != std::string::npos);
    CHECK(err.find("second time") != std::string::npos);
}

TEST_CASE("backward of a non-scalar needs a gradient; a constant has no graph") {
    Tensor x = ones({3}).requires_grad_();
    Tensor y = mul(x, 2.0);
    CHECK(error_of([&] { y.backward(); }).find("shape [3]") != std::string::npos);
    y.backward(from_vector<float>({1, 2, 3}));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 4, 6});
    CHECK(error_of([] { sum(ones({2})).backward(); }).find("does not require grad") != std::string::npos);
}

TEST_CASE("create_graph: second derivatives") {
    // f = x^3 -> f' = 3x^2 -> f'' = 6x
    Tensor x = from_vector<double>({2.0}).requires_grad_();
    Tensor f = pow(x, 3.0);
    Tensor df = autograd::grad({f}, {x}, {}, false, /*create_graph=*/true)[0];
    CHECK(df.item() == doctest::Approx(12.0));
    CHECK(df.requires_grad());
    Tensor d2f = autograd::grad({df}, {x})[0];
    CHECK(d2f.item() == doctest::Approx(12.0));
    // tanh'' = -2 tanh (1 - tanh^2)
    Tensor z = from_vector<double>({0.3}).requires_grad_();
    Tensor g = autograd::grad({tanh(z)}, {z}, {}, false, true)[0];
    Tensor h = autograd::grad({g}, {z})[0];
    double t = std::tanh(0.3);
    CHECK(h.item() == doctest::Approx(-2 * t * (1 - t * t)));
}

TEST_CASE("grad() returns gradients without touching .grad, and prunes what it does not need") {
    Tensor w = from_vector<double>({1.0, -1.0}).requires_grad_();
    Tensor x = from_vector<double>({0.5, 2.0}).requires_grad_();
    Tensor y = sum(mul(w, x));
    Tensor gx = autograd::grad({y}, {x})[0];
    CHECK(gx.to_vector<double>() == std::vector<double>{1.0, -1.0});
    CHECK_FALSE(w.grad().defined());
    CHECK_FALSE(x.grad().defined());
    Tensor unused = ones({2}, {DType::Float64}).requires_grad_();
    Tensor y2 = sum(mul(w, x));
    CHECK(error_of([&] { autograd::grad({y2}, {unused}); }).find("not used") != std::string::npos);
    Tensor y3 = sum(mul(w, x));
    CHECK_FALSE(autograd::grad({y3}, {unused}, {}, false, false, true)[0].defined());
}

TEST_CASE("a gradient penalty: backward through a gradient norm") {
    // D(x) = sum(tanh(W x)); penalty = (||dD/dx|| - 1)^2; its gradient w.r.t. W needs
    // the second-order graph. Compare with central differences on W.
    manual_seed(9);
    Tensor W = randn({3, 4}, {DType::Float64}).requires_grad_();
    Tensor x = randn({2, 4}, {DType::Float64}).requires_grad_();
    auto penalty = [&](const Tensor& Wt) {
        Tensor xin = x.detach().requires_grad_();
        Tensor d = sum(tanh(matmul(xin, Wt.t())));
        Tensor g = autograd::grad({d}, {xin}, {}, false, true)[0];
        return square(sub(norm(g), 1.0));
    };
    penalty(W).backward();
    std::vector<double> analytic = W.grad().to_vector<double>();
    double* p = W.data<double>();
    autograd::NoGradGuard ng;
    for (int i = 0; i < 12; ++i) {
        double orig = p[i];
        p[i] = orig + 1e-6;
        double hi = [&] { autograd::EnableGradGuard on; return penalty(W.detach()).item(); }();
        p[i] = orig - 1e-6;
        double lo = [&] { autograd::EnableGradGuard on; return penalty(W.detach()).item(); }();
        p[i] = orig;
        CHECK(analytic[size_t(i)] == doctest::Approx((hi - lo) / 2e-6).epsilon(1e-5));
    }
}

TEST_CASE("no_grad and detach stop the graph") {
    Tensor x = ones({2}).requires_grad_();
    {
        autograd::NoGradGuard ng;
        Tensor y = mul(x, 2.0);
        CHECK_FALSE(y.requires_grad());
    }
    Tensor d = x.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.impl()->storage == x.impl()->storage);
    Tensor y = add(mul(x, d), x);
    y.sum().backward();
    CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2});  // d treated as a constant
}

TEST_CASE("hooks see and may replace gradients; retain_grad keeps a non-leaf's") {
    Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
    Tensor h = mul(x, 3.0);
    h.retain_grad();
    std::vector<double> seen;
    h.register_hook([&](const Tensor& g) -> std::optional<Tensor> {
        seen = g.to_vector<double>();
        return mul(g, 10.0);  // scale the gradient flowing on
    });
    x.register_hook([&](const Tensor& g) -> std::optional<Tensor> { return g; });
    sum(mul(h, h)).backward();
    CHECK(seen == std::vector<double>{6.0, 12.0});  // 2h
    CHECK(h.grad().to_vector<double>() == std::vector<double>{60.0, 120.0});
    CHECK(x.grad().to_vector<double>() == std::vector<double>{180.0, 360.0});
}

TEST_CASE("anomaly mode names the first op that made NaN") {
    Tensor x = from_vector<float>({-1.0f, 4.0f}).requires_grad_();
    {
        autograd::AnomalyGuard on;
        std::string err = error_of([&] { sum(log(x)).backward(); });
        CHECK(err.find("anomaly") != std::string::npos);
        CHECK(err.find("'log'") != std::string::npos);
        // Backward NaN: sqrt at 0 has an infinite derivative.
        Tensor z = zeros({1}).requires_grad_();
        std::string err2 = error_of([&] { sum(sqrt(z)).backward(); });
        CHECK(err2.find("backward of 'sqrt'") != std::string::npos);
    }
    // Off: no check, the NaN flows silently as in any framework.
    CHECK(std::isnan(sum(log(x.detach())).item()));
}

TEST_CASE("the graph exports to DOT") {
    Tensor w = ones({3, 2}).requires_grad_().set_name("fc.weight");
    Tensor x = ones({4, 2});
    Tensor loss = mean(relu(linear(x, w)));
    std::string dot = autograd::to_dot({loss}, "mlp");
    CHECK(dot.find("digraph \"mlp\"") != std::string::npos);
    CHECK(dot.find("fc.weight") != std::string::npos);
    CHECK(dot.find("relu") != std::string::npos);
    CHECK(dot.find("matmul") != std::string::npos);
    CHECK(dot.find("->") != std::string::npos);
}

TEST_CASE("a gradient reaching a leaf is stored without aliasing other tensors") {
    // sum's gradient is an expanded (stride-0) view; storing it as .grad and then
    // accumulating in place must not write through to anything else.
    Tensor x = zeros({3}).requires_grad_();
    sum(x).backward();
    sum(x).backward();
    CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 2, 2});
}

TEST_CASE("record: a node keeps what its op says, and its backward reads only that") {
    using autograd::Grads;
    using autograd::Saved;
    // No input needs a gradient: the output comes back as it is, without a node.
    Tensor c = from_vector<double>({1.0, 2.0});
    Tensor plain = autograd::record("twice", c * 2.0, {c}, [](const Tensor& g, const Saved&) { return Grads{g * 2.0}; });
    CHECK_FALSE(plain.requires_grad());
    CHECK(plain.grad_fn() == nullptr);
    // A backward that reads an input its op did not keep fails, naming the op.
    Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
    Tensor y = autograd::record(
        "keeps_shapes", (x * 1.0).detach(), {x},
        [](const Tensor& g, const Saved& s) { return Grads{g * s.input(0)}; }, autograd::Keep::Shapes);
    std::string e = error_of([&] { sum(y).backward(); });
    CHECK(e.find("'keeps_shapes'") != std::string::npos);
    CHECK(e.find("did not keep") != std::string::npos);
    // An input kept for backward and then modified in place is named with the op that kept it.
    Tensor b = from_vector<double>({3.0, 4.0});
    Tensor loss = sum(x * b);
    b.add_(ones_like(b));
    CHECK(error_of([&] { loss.backward(); }).find("backward of 'mul'") != std::string::npos);
    // The shapes and needs_grad a backward sees: a broadcast input gets its gradient summed back.
    Tensor row = from_vector<double>({1.0, 2.0, 3.0}).requires_grad_();
    Tensor m = full(Shape{2, 3}, 2.0, {DType::Float64});
    sum(m * row).backward();
    CHECK(row.grad().to_vector<double>() == std::vector<double>{4.0, 4.0, 4.0});
}
