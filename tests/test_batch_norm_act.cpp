// Batch norm + activation fused (kernels/batch_norm.h's batch_norm_act tables, batch_norm_act,
// nn::BatchNorm::forward_act and nn::Sequential's fusion).
//
// Kernels: every variant gives, bit for bit, its own plain batch_norm kernel followed by the
// activation (forward) and the activation's backward followed by its batch_norm backward, and
// matches "reference" within rounding; odd channel counts and hw tails, [N, C], sizes above the
// thread threshold. Op: the composed ops (batch_norm then relu / leaky_relu) bit for bit, values,
// running statistics and gradients, in float32 and float64; gradcheck and gradgradcheck in
// float64, training and eval, each activation; N = 1, an empty batch, bad slopes. Modules: a
// Sequential and the dcgan networks give the numbers of their modules run one by one.
#include <cstring>
#include <string>
#include <vector>

#include "core/gradcheck.h"
#include "core/nn/nn.h"
#include "helpers.h"
#include "kernels/batch_norm.h"
#include "models/gan/networks.h"

using namespace mg;
using namespace mg::test;
namespace K = mg::kernels;

namespace {

constexpr auto kCpu = Device::CPU;
using Act = BatchNormActivation;

const Act kActivations[] = {{Act::None, 0.0}, {Act::Relu, 0.0}, {Act::LeakyRelu, 0.2}, {Act::LeakyRelu, 0.0}};

std::string act_name(const Act& a) {
    if (a.kind == Act::None) return "none";
    if (a.kind == Act::Relu) return "relu";
    return "leaky_relu " + std::to_string(a.slope);
}

// Equal bytes: the same numbers, signs of zero included.
void check_same_bits(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    REQUIRE(a.dtype() == b.dtype());
    Tensor ac = a.contiguous(), bc = b.contiguous();
    const size_t bytes = size_t(a.numel()) * dtype_size(a.dtype());
    if (std::memcmp(ac.raw_data(), bc.raw_data(), bytes) != 0) check_close(a, b, 0.0, 0.0);
    CHECK(std::memcmp(ac.raw_data(), bc.raw_data(), bytes) == 0);
}

// n values uniform in [lo, hi), from the global generator.
template <class T> std::vector<T> uniform(size_t n, double lo, double hi) {
    return rand(Shape{int64_t(n)}, {DType::Float64}, lo, hi).to_vector<T>();
}

// What one kernel run writes: y, the running and saved statistics, the three gradients.
template <class T> struct Run {
    std::vector<T> y, rm, rv, sm, si, gx, gw, gb;
};

template <class T> struct KernelCase {
    K::BatchNormShape s;
    bool training, affine;
    Act act;
    std::vector<T> x, g, w, b;

    K::BatchNormForwardArgs forward_args(Run<T>& r) const {
        const size_t n = x.size(), c = size_t(s.c);
        r.y.assign(n, T(NAN)), r.sm.assign(c, T(NAN)), r.si.assign(c, T(NAN));
        r.rm.assign(c, T(0.5)), r.rv.assign(c, T(2.0));
        return {.shape = s, .x = x.data(), .weight = affine ? w.data() : nullptr, .bias = affine ? b.data() : nullptr,
                .running_mean = r.rm.data(), .running_var = r.rv.data(), .training = training, .momentum = 0.1,
                .eps = 1e-5, .y = r.y.data(), .save_mean = r.sm.data(), .save_invstd = r.si.data()};
    }
    K::BatchNormBackwardArgs backward_args(Run<T>& r, const T* grad_y) const {
        r.gx.assign(x.size(), T(NAN)), r.gw.assign(size_t(s.c), T(NAN)), r.gb.assign(size_t(s.c), T(NAN));
        return {.shape = s, .x = x.data(), .grad_y = grad_y, .save_mean = r.sm.data(), .save_invstd = r.si.data(),
                .weight = affine ? w.data() : nullptr, .grad_x = r.gx.data(), .grad_weight = r.gw.data(),
                .grad_bias = r.gb.data()};
    }

    Run<T> fused(const std::string& variant) const {
        Run<T> r;
        K::batch_norm_act_forward_table().get(variant, kCpu, dtype_of<T>::value)({forward_args(r), act});
        K::batch_norm_act_backward_table().get(variant, kCpu, dtype_of<T>::value)(
            {backward_args(r, g.data()), r.y.data(), act});
        return r;
    }

    // The plain kernels with the activation between them, as relu / leaky_relu and their
    // backward compute it (kernels/elementwise_ops.h).
    Run<T> composed(const std::string& variant) const {
        Run<T> r;
        K::batch_norm_forward_table().get(variant, kCpu, dtype_of<T>::value)(forward_args(r));
        std::vector<T> g_norm = g;
        for (size_t i = 0; i < r.y.size(); ++i) {
            const T v = r.y[i];
            if (act.kind == Act::Relu) r.y[i] = v > T(0) ? v : T(0);
            if (act.kind == Act::LeakyRelu) r.y[i] = v > T(0) ? v : T(act.slope) * v;
            if (act.kind != Act::None) g_norm[i] = r.y[i] > T(0) ? g[i] : T(act.negative_slope()) * g[i];
        }
        K::batch_norm_backward_table().get(variant, kCpu, dtype_of<T>::value)(backward_args(r, g_norm.data()));
        return r;
    }
};

template <class T> Tensor as_tensor(const std::vector<T>& v) { return from_vector(v, Shape{int64_t(v.size())}); }

template <class T> void check_runs_same_bits(const Run<T>& a, const Run<T>& b) {
    for (auto field : {&Run<T>::y, &Run<T>::rm, &Run<T>::rv, &Run<T>::sm, &Run<T>::si, &Run<T>::gx, &Run<T>::gw,
                       &Run<T>::gb})
        check_same_bits(as_tensor(a.*field), as_tensor(b.*field));
}

template <class T> void check_variants(double rtol, double atol) {
    // [n, c, hw]: hw tails (25, 49, 17), odd channel counts, [N, C] (hw 1) below, at and above
    // one vector of channels, one value per channel in eval, and sizes above the thread threshold.
    const K::BatchNormShape shapes[] = {{4, 3, 25}, {2, 5, 49}, {3, 7, 17}, {64, 16, 49}, {512, 33, 1},
                                        {5, 19, 1}, {2, 16, 1}, {1, 3, 9},  {8, 64, 196}};
    for (const K::BatchNormShape& s : shapes)
        for (bool training : {true, false})
            for (const Act& act : kActivations) {
                const size_t n = size_t(s.n * s.c * s.hw);
                const bool affine = (s.c + int(training)) % 2 == 0;
                // an offset mean (3) tests the shifted sums; BN's output straddles 0 either way
                manual_seed(uint64_t(n));
                const KernelCase<T> k{s,
                                      training,
                                      affine,
                                      act,
                                      uniform<T>(n, 2.0, 4.0),
                                      uniform<T>(n, -1.0, 1.0),
                                      uniform<T>(size_t(s.c), 0.5, 1.5),
                                      uniform<T>(size_t(s.c), -0.5, 0.5)};
                const Run<T> ref = k.fused("reference");
                for (const std::string& v : cpu_variants(K::batch_norm_act_forward_table(), dtype_of<T>::value)) {
                    CAPTURE(v);
                    CAPTURE(act_name(act));
                    CAPTURE(training);
                    CAPTURE(s.n);
                    CAPTURE(s.c);
                    CAPTURE(s.hw);
                    const Run<T> got = k.fused(v);
                    check_runs_same_bits(got, k.composed(v));
                    check_close(as_tensor(got.y), as_tensor(ref.y), rtol, atol);
                    check_close(as_tensor(got.rm), as_tensor(ref.rm), rtol, atol);
                    check_close(as_tensor(got.rv), as_tensor(ref.rv), rtol, atol);
                    check_close(as_tensor(got.gx), as_tensor(ref.gx), rtol, atol);
                    // the parameter gradients are sums of n*hw terms
                    const double sum_atol = atol * double(s.n * s.hw);
                    check_close(as_tensor(got.gw), as_tensor(ref.gw), rtol, sum_atol);
                    check_close(as_tensor(got.gb), as_tensor(ref.gb), rtol, sum_atol);
                }
            }
}

// The op's outputs and gradients, fused or composed: y, running stats, and the gradients of
// sum(y * r) for x, weight, bias.
struct OpRun {
    Tensor y, rm, rv, gx, gw, gb;
};

OpRun run_op(bool fused, const Tensor& x0, const Tensor& w0, const Tensor& b0, bool training, const Act& act,
             const Tensor& r) {
    OpRun o;
    Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    const int64_t c = x0.shape()[1];
    o.rm = full(Shape{c}, 0.25, {x0.dtype()});
    o.rv = full(Shape{c}, 1.5, {x0.dtype()});
    o.y = (fused ? batch_norm_act : batch_norm_act_composed)(x, o.rm, o.rv, w, b, training, 0.1, 1e-5, act);
    if (fused && training)
        CHECK(o.y.grad_fn()->name == std::string(act.kind == Act::None ? "batch_norm" : "batch_norm_act"));
    sum(mul(o.y, r)).backward();
    o.gx = x.grad(), o.gw = w.grad(), o.gb = b.grad();
    return o;
}

}  // namespace

TEST_CASE("batch_norm_act kernels: every variant is its batch_norm plus the activation, bit for bit") {
    check_variants<float>(1e-5, 2e-5);
    check_variants<double>(1e-12, 1e-12);
}

TEST_CASE("batch_norm_act kernels: a negative slope is refused by every variant") {
    const K::BatchNormShape s{2, 1, 1};
    float x[2] = {1, 2}, y[2], g[2] = {1, 1}, gx[2], mean[1], invstd[1];
    K::BatchNormForwardArgs f{.shape = s, .x = x, .y = y, .save_mean = mean, .save_invstd = invstd};
    K::BatchNormBackwardArgs bw{
        .shape = s, .x = x, .grad_y = g, .save_mean = mean, .save_invstd = invstd, .grad_x = gx};
    const Act bad{Act::LeakyRelu, -0.5};
    for (const std::string& v : cpu_variants(K::batch_norm_act_forward_table(), DType::Float32)) {
        CAPTURE(v);
        CHECK_THROWS_WITH_AS(K::batch_norm_act_forward_table().get(v, kCpu, DType::Float32)({f, bad}),
                             doctest::Contains("slope -0.5 must be >= 0"), mg::Error);
        CHECK_THROWS_WITH_AS(K::batch_norm_act_backward_table().get(v, kCpu, DType::Float32)({bw, y, bad}),
                             doctest::Contains("slope -0.5 must be >= 0"), mg::Error);
    }
}

TEST_CASE("batch_norm_act: the composed ops' values, running statistics and gradients, bit for bit") {
    manual_seed(21);
    for (DType dt : {DType::Float32, DType::Float64})
        // N = 1 with H*W > 1 trains; [N, C] and odd sizes take the kernels' other layout and tails
        for (Shape shape : {Shape{8, 5, 7, 7}, Shape{6, 3}, Shape{1, 4, 3, 5}, Shape{3, 17, 5, 3}})
            for (bool training : {true, false})
                for (const Act& act : kActivations) {
                    CAPTURE(dt);
                    CAPTURE(shape.str());
                    CAPTURE(training);
                    CAPTURE(act_name(act));
                    const int64_t c = shape[1];
                    Tensor x = randn(shape, {dt}, 0.5, 2.0), r = randn(shape, {dt});
                    Tensor w = rand({c}, {dt}, 0.5, 1.5), b = rand({c}, {dt}, -1.0, 1.0);
                    const OpRun fused = run_op(true, x, w, b, training, act, r);
                    const OpRun composed = run_op(false, x, w, b, training, act, r);
                    for (auto field : {&OpRun::y, &OpRun::rm, &OpRun::rv, &OpRun::gx, &OpRun::gw, &OpRun::gb})
                        check_same_bits(fused.*field, composed.*field);
                    // and eval without gradients (sampling): the fused kernel on the running statistics
                    autograd::NoGradGuard no_grad;
                    Tensor rm = rand({c}, {dt}, -0.5, 0.5), rv = rand({c}, {dt}, 0.5, 2.0);
                    check_same_bits(batch_norm_act(x, rm, rv, w, b, false, 0.1, 1e-5, act),
                                    batch_norm_act_composed(x, rm, rv, w, b, false, 0.1, 1e-5, act));
                }
}

TEST_CASE("batch_norm_act: the float64 reference kernel against batch_norm and the activation written out") {
    kernels::select("batch_norm_act_forward", "reference");
    manual_seed(22);
    Tensor x = randn({5, 3, 4, 3}, {DType::Float64}, 1.0, 2.0);
    Tensor w = rand({3}, {DType::Float64}, 0.5, 1.5), b = rand({3}, {DType::Float64}, -1.0, 1.0);
    Tensor m = mean(x, {0, 2, 3}, true), v = var(x, {0, 2, 3}, 0, true);
    Tensor bn = add(mul(div(sub(x, m), sqrt(add(v, 1e-5))), w.reshape({1, 3, 1, 1})), b.reshape({1, 3, 1, 1}));
    Tensor rm = zeros({3}, {DType::Float64}), rv = ones({3}, {DType::Float64});
    check_close(batch_norm_act(x, rm, rv, w, b, true, 0.1, 1e-5, {Act::LeakyRelu, 0.2}),
                where(gt(bn, 0.0), bn, mul(bn, 0.2)), 1e-13, 1e-13);
    check_close(batch_norm_act(x, rm, rv, w, b, true, 0.1, 1e-5, {Act::Relu, 0.0}), relu(bn), 1e-13, 1e-13);
    kernels::select_defaults();
}

TEST_CASE("batch_norm_act: gradcheck and gradgradcheck in float64, training and eval, each activation") {
    manual_seed(23);
    auto in = [](const Shape& s) { return randn(s, {DType::Float64}).requires_grad_(); };
    for (bool training : {true, false})
        for (const Act& act : kActivations)
            for (bool affine : {true, false}) {
                CAPTURE(training);
                CAPTURE(act_name(act));
                CAPTURE(affine);
                Tensor rm = full({4}, 0.1, {DType::Float64}), rv = full({4}, 0.7, {DType::Float64});
                std::vector<Tensor> inputs = {in({3, 4, 2, 3})};
                if (affine) inputs = {inputs[0], in({4}), in({4})};
                TensorFn f = [&](const std::vector<Tensor>& x) {
                    Tensor w = affine ? x[1] : Tensor(), b = affine ? x[2] : Tensor();
                    return batch_norm_act(x[0], rm, rv, w, b, training, 0.0, 1e-5, act);  // momentum 0: stats stay
                };
                GradcheckResult r = gradcheck(f, inputs);
                INFO(r.message);
                CHECK(r.ok);
                GradcheckResult r2 = gradgradcheck(f, inputs);
                INFO(r2.message);
                CHECK(r2.ok);
            }
}

TEST_CASE("batch_norm_act: N = 1, an empty batch and bad activations, as batch_norm") {
    const Act relu_act{Act::Relu, 0.0};
    // eval with one sample: the running statistics
    Tensor rm = full({3}, 0.5), rv = full({3}, 2.0);
    Tensor x1 = randn({1, 3, 2, 2});
    check_same_bits(batch_norm_act(x1, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5, relu_act),
                    relu(batch_norm(x1, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5)));
    Tensor row = randn({1, 3});
    check_same_bits(batch_norm_act(row, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5, relu_act),
                    relu(batch_norm(row, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5)));
    // training with one value per channel is refused, as batch_norm refuses it
    CHECK_THROWS_WITH_AS(batch_norm_act(row, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5, relu_act),
                         doctest::Contains("batch_norm_act: training needs more than one value per channel"),
                         mg::Error);
    // an empty batch: eval gives an empty output, training is refused
    Tensor empty_x = zeros({0, 3, 2, 2});
    CHECK(batch_norm_act(empty_x, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5, relu_act).shape() == empty_x.shape());
    CHECK_THROWS_AS(batch_norm_act(empty_x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5, relu_act), mg::Error);
    CHECK_THROWS_AS(batch_norm(empty_x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5), mg::Error);
    CHECK_THROWS_WITH_AS(batch_norm_act(x1, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5, {Act::LeakyRelu, -0.1}),
                         doctest::Contains("batch_norm_act: leaky_relu slope -0.1 must be finite and >= 0"), mg::Error);
    CHECK_THROWS_WITH_AS(batch_norm_act(x1, rm, rv, Tensor(), Tensor(), false, 0.1, 1e-5, {Act::LeakyRelu, NAN}),
                         doctest::Contains("must be finite"), mg::Error);
    CHECK_THROWS_WITH_AS(batch_norm_act(x1, zeros({4}), rv, Tensor(), Tensor(), false, 0.1, 1e-5, relu_act),
                         doctest::Contains("batch_norm_act: parameter [4] does not match 3 channels"), mg::Error);
}

TEST_CASE("nn::Sequential: BatchNorm + ReLU/LeakyReLU run fused, with the modules' numbers bit for bit") {
    for (bool training : {true, false}) {
        CAPTURE(training);
        // two copies of one network: the fused Sequential, and its children called one by one
        auto make = [] {
            manual_seed(24);
            return std::make_shared<nn::Sequential>(
                std::make_shared<nn::Conv2d>(3, 5, 3, 1, 1, 1, 1, false), std::make_shared<nn::BatchNorm2d>(5),
                std::make_shared<nn::LeakyReLU>(0.2), std::make_shared<nn::Flatten>(),
                std::make_shared<nn::Linear>(5 * 4 * 4, 6, false), std::make_shared<nn::BatchNorm1d>(6),
                std::make_shared<nn::ReLU>());
        };
        auto fused_net = make(), step_net = make();
        fused_net->train(training);
        step_net->train(training);
        manual_seed(25);
        Tensor x = randn({4, 3, 4, 4}), r = randn({4, 6});
        Tensor fused = fused_net->forward(x);
        if (training) CHECK(fused.grad_fn()->name == "batch_norm_act");
        Tensor step = x;
        for (const auto& m : *step_net) step = m->forward(step);
        if (training) CHECK(step.grad_fn()->name == "relu");
        check_same_bits(fused, step);
        sum(mul(fused, r)).backward();
        sum(mul(step, r)).backward();
        const auto fused_params = fused_net->named_parameters(), step_params = step_net->named_parameters();
        REQUIRE(fused_params.size() == step_params.size());
        for (size_t i = 0; i < fused_params.size(); ++i) {
            CAPTURE(fused_params[i].first);
            check_same_bits(fused_params[i].second.grad(), step_params[i].second.grad());
        }
        const auto fused_buffers = fused_net->named_buffers(), step_buffers = step_net->named_buffers();
        REQUIRE(fused_buffers.size() == step_buffers.size());
        for (size_t i = 0; i < fused_buffers.size(); ++i) {
            CAPTURE(fused_buffers[i].first);
            CHECK(fused_buffers[i].first == step_buffers[i].first);
            check_same_bits(fused_buffers[i].second, step_buffers[i].second);
        }
    }
}

TEST_CASE("dcgan networks: the fused BatchNorm + activation layers give the unfused numbers and names") {
    manual_seed(26);
    models::DcGenerator g(16, 0, 8);
    models::DcDiscriminator d(true, 0, 1, 8);
    models::dcgan_init(g);
    models::dcgan_init(d);
    // the checkpoint names are the modules', which the fusion does not touch
    CHECK(g.state_dict().contains("net.0.running_mean"));
    CHECK(d.state_dict().contains("trunk.3.running_var"));
    Tensor z = randn({6, 16});
    Tensor h = g.fc->forward(z).view({-1, 8 << (g.shape.blocks - 1), g.shape.base, g.shape.base});
    Tensor image = h;
    for (const auto& m : *g.net) image = m->forward(image);
    // the running statistics moved once above: the fused pass sees the same batch statistics
    check_same_bits(g.forward(z), image);
    Tensor logit_steps = image.detach();
    for (const auto& m : *d.trunk) logit_steps = m->forward(logit_steps);
    check_same_bits(d.trunk->forward(image.detach()), logit_steps);
}
