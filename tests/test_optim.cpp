// Optimizers, schedulers, clipping and EMA against reference numbers.
//
// The trajectories and learning rates are float64 values computed by
// tests/reference/make_optim_reference.py from the update rules written out by hand
// (standard library only) and stored in tests/reference/fixtures/optim_reference.json; the
// same script checks them against torch.optim and torch.optim.lr_scheduler where PyTorch is
// installed (they agree to 5e-15).
// The problem: f(x) = 0.5 * sum(a * x^2) + b . x, grad = a * x + b, x0 = [1, -2, 3].
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "helpers.h"
#include "kernels/optim.h"
#include "optim/optim.h"

using namespace mg;
using mg::test::check_close;
using mg::test::error_of;

namespace {

// The reference numbers: tests/reference/fixtures/optim_reference.json, written by
// tests/reference/make_optim_reference.py. "<config>": x after each of the 5 steps (flattened);
// "<schedule>": the learning rates of groups with base lr [0.1, 0.01] at epochs 0 .. 12
// (row-major: epoch, group).
std::vector<double> reference(const std::string& name) {
    static const nlohmann::json doc = [] {
        const std::string path = std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/optim_reference.json";
        std::ifstream f(path);
        REQUIRE_MESSAGE(f.good(), "cannot open " << path);
        return nlohmann::json::parse(f);
    }();
    REQUIRE_MESSAGE(doc.contains(name), "optim_reference.json has no '" << name << "'");
    return doc.at(name).get<std::vector<double>>();
}

const std::vector<double> kA = {1.0, 2.0, 0.5}, kB = {0.5, -1.0, 0.25}, kX0 = {1.0, -2.0, 3.0};
constexpr int kSteps = 5;

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

// x after each step (flattened), the gradient set by hand to a*x + b in x's dtype.
std::vector<double> quadratic_trajectory(const MakeOptimizer& make, DType dtype) {
    Tensor x = from_vector(kX0, {3}, {dtype}).requires_grad_();
    Tensor a = from_vector(kA, {3}, {dtype}), b = from_vector(kB, {3}, {dtype});
    auto opt = make({x});
    std::vector<double> out;
    for (int s = 0; s < kSteps; ++s) {
        opt->zero_grad();
        x.set_grad(add(mul(a, x.detach()), b));
        opt->step();
        for (double v : x.to_vector<double>()) out.push_back(v);
    }
    return out;
}

void check_values(const std::vector<double>& got, const std::vector<double>& want, double rtol, double atol) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        INFO("value " << i << " (step " << i / 3 + 1 << ", element " << i % 3 << ")");
        CHECK(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i]));
    }
}

// float64 must follow the reference to rounding; float32 to float32 rounding (5 steps).
void check_trajectory(const MakeOptimizer& make, const std::vector<double>& want) {
    {
        INFO("float64");
        check_values(quadratic_trajectory(make, DType::Float64), want, 1e-12, 1e-14);
    }
    {
        INFO("float32");
        check_values(quadratic_trajectory(make, DType::Float32), want, 1e-5, 1e-6);
    }
}

template <class Opt, class Options> MakeOptimizer maker(Options o) {
    return [o](std::vector<Tensor> p) { return std::make_unique<Opt>(std::move(p), o); };
}

}  // namespace

// ---- trajectories ---------------------------------------------------------------------------
TEST_CASE("optim: SGD, momentum with dampening, Nesterov and weight decay follow the reference") {
    SUBCASE("plain") { check_trajectory(maker<optim::SGD>(optim::SGDOptions{.lr = 0.1}), reference("sgd_plain")); }
    SUBCASE("momentum") {
        optim::SGDOptions o{.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01};
        check_trajectory(maker<optim::SGD>(o), reference("sgd_momentum"));
    }
    SUBCASE("nesterov") {
        optim::SGDOptions o{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true};
        check_trajectory(maker<optim::SGD>(o), reference("sgd_nesterov"));
    }
}

TEST_CASE("optim: Adam, AMSGrad and AdamW follow the reference, fused kernel and tensor ops alike") {
    for (bool fused : {true, false}) {
        INFO("fused = " << fused);
        {
            INFO("adam");
            check_trajectory(maker<optim::Adam>(optim::AdamOptions{.lr = 0.1, .fused = fused}), reference("adam"));
        }
        {
            INFO("adam with weight decay and amsgrad");
            const optim::AdamOptions o{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.9, .eps = 1e-6, .weight_decay = 0.1,
                                       .amsgrad = true, .fused = fused};
            check_trajectory(maker<optim::Adam>(o), reference("adam_wd_amsgrad"));
        }
        {
            INFO("adamw");
            optim::AdamWOptions o;
            o.lr = 0.1;
            o.weight_decay = 0.1;
            o.fused = fused;
            check_trajectory(maker<optim::AdamW>(o), reference("adamw"));
        }
    }
}

TEST_CASE("optim: RMSprop, plain and centered with momentum and weight decay, follows the reference") {
    SUBCASE("plain") {
        check_trajectory(maker<optim::RMSprop>(optim::RMSpropOptions{.lr = 0.01}), reference("rmsprop"));
    }
    SUBCASE("centered, momentum, weight decay") {
        optim::RMSpropOptions o{.lr = 0.01, .alpha = 0.9, .weight_decay = 0.1, .momentum = 0.5, .centered = true};
        check_trajectory(maker<optim::RMSprop>(o), reference("rmsprop_full"));
    }
}

TEST_CASE("optim: parameter groups with different learning rates") {
    Tensor x = from_vector(kX0, {3}, {DType::Float64}).requires_grad_();
    Tensor y = from_vector(kX0, {3}, {DType::Float64}).requires_grad_();
    Tensor frozen = from_vector(kX0, {3}, {DType::Float64}).requires_grad_();  // no gradient: skipped
    Tensor a = from_vector(kA, {3}, {DType::Float64}), b = from_vector(kB, {3}, {DType::Float64});
    std::vector<optim::ParamGroup> groups(2);
    groups[0].params = {x};
    groups[1].params = {y, frozen};
    groups[1].lr = 0.01;
    optim::SGD opt(groups, {.lr = 0.1, .momentum = 0.9});
    CHECK(opt.param_groups()[0].lr == 0.1);
    CHECK(opt.param_groups()[1].lr == 0.01);
    CHECK(opt.param_groups()[1].option("momentum") == 0.9);
    std::vector<double> got_x, got_y;
    for (int s = 0; s < kSteps; ++s) {
        opt.zero_grad();
        x.set_grad(add(mul(a, x.detach()), b));
        y.set_grad(add(mul(a, y.detach()), b));
        opt.step();
        for (double v : x.to_vector<double>()) got_x.push_back(v);
        for (double v : y.to_vector<double>()) got_y.push_back(v);
    }
    check_values(got_x, reference("sgd_momentum_lr01"), 1e-12, 1e-14);
    check_values(got_y, reference("sgd_momentum_lr001"), 1e-12, 1e-14);
    CHECK(frozen.to_vector<double>() == kX0);
    CHECK(opt.state(2).step == 0);
    CHECK(opt.state(2).buffers.empty());
    CHECK(opt.state(0).step == kSteps);

    // A group may override an option; an unknown option is refused by name.
    optim::ParamGroup g;
    g.params = {zeros({2}).requires_grad_()};
    g.options["dampening"] = 0.5;
    opt.add_param_group(g);
    CHECK(opt.param_groups()[2].option("dampening") == 0.5);
    CHECK(opt.param_groups()[2].lr == 0.1);
    optim::ParamGroup bad;
    bad.params = {zeros({2}).requires_grad_()};
    bad.options["momentun"] = 0.5;
    CHECK(error_of([&] { opt.add_param_group(bad); }).find("unknown option 'momentun'") != std::string::npos);
    optim::ParamGroup twice;
    twice.params = {x};
    CHECK(error_of([&] { opt.add_param_group(twice); }).find("already in another parameter group") !=
          std::string::npos);
}

TEST_CASE("optim: hyperparameters out of range are refused") {
    Tensor p = zeros({2}).requires_grad_();
    CHECK(error_of([&] { optim::SGD({p}, {.lr = -1.0}); }).find("lr must be finite and >= 0") != std::string::npos);
    CHECK(error_of([&] { optim::SGD({p}, {.lr = 0.1, .nesterov = true}); }).find("nesterov") != std::string::npos);
    optim::AdamOptions o;
    o.beta2 = 1.0;
    CHECK(error_of([&] { optim::Adam({p}, o); }).find("beta2 must be in [0, 1)") != std::string::npos);
    CHECK(error_of([&] { optim::RMSprop({p}, {.momentum = -0.5}); }).find("momentum") != std::string::npos);
    Tensor labels = zeros({2}, {DType::Int64});
    CHECK(error_of([&] { optim::SGD({labels}); }).find("floating") != std::string::npos);
    // A gradient of the wrong shape is refused before any state changes.
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    autograd::NoGradGuard ng;
    p.impl()->grad = zeros({3});
    CHECK(error_of([&] { opt.step(); }).find("gradient") != std::string::npos);
    CHECK(opt.state(0).step == 0);
}

// ---- the fused Adam kernel ----------------------------------------------------------------------
TEST_CASE("optim: every adam_update variant is bitwise the reference") {
    manual_seed(7);
    auto& table = kernels::adam_update_table();
    kernels::init();
    for (DType dtype : {DType::Float32, DType::Float64}) {
        for (int64_t n : {int64_t(1), int64_t(15), int64_t(17), int64_t(1000), int64_t(100003)}) {
            for (int config = 0; config < 3; ++config) {
                kernels::AdamHyper h;
                h.lr = 0.01;
                h.step = 3;
                h.weight_decay = config == 0 ? 0.0 : 0.05;
                h.decoupled = config == 2;
                const bool amsgrad = config == 1;
                Tensor p0 = randn({n}, {dtype}), g = randn({n}, {dtype});
                Tensor m0 = randn({n}, {dtype}), v0 = square(randn({n}, {dtype})), vmax0 = square(randn({n}, {dtype}));
                auto run = [&](const std::string& variant) {
                    Tensor p = p0.clone(), m = m0.clone(), v = v0.clone(), vmax = vmax0.clone();
                    table.get(variant, Device::CPU, dtype)(p.raw_data(), g.raw_data(), m.raw_data(), v.raw_data(),
                                                          amsgrad ? vmax.raw_data() : nullptr, n, h);
                    return std::vector<Tensor>{p, m, v, vmax};
                };
                std::vector<Tensor> want = run("reference");
                for (const kernels::VariantInfo& info : table.variants()) {
                    if (info.device != Device::CPU || info.dtype != dtype || info.name == "reference") continue;
                    INFO(info.name << " " << dtype << " n=" << n << " config " << config);
                    std::vector<Tensor> got = run(info.name);
                    for (size_t k = 0; k < got.size(); ++k)
                        CHECK(std::memcmp(got[k].raw_data(), want[k].raw_data(), size_t(n * got[k].element_size())) ==
                              0);
                }
                // And the reference against the formula, in double, element 0.
                double p = p0.to_vector<double>()[0], gr = g.to_vector<double>()[0];
                double m = m0.to_vector<double>()[0], v = v0.to_vector<double>()[0];
                if (h.decoupled) p *= 1 - h.lr * h.weight_decay;
                else gr += h.weight_decay * p;
                m = 0.9 * m + 0.1 * gr;
                v = 0.999 * v + 0.001 * gr * gr;
                double v_hat = amsgrad ? std::max(v, vmax0.to_vector<double>()[0]) : v;
                p -= h.lr / (1 - std::pow(0.9, 3)) * m / (std::sqrt(v_hat) / std::sqrt(1 - std::pow(0.999, 3)) + 1e-8);
                CHECK(want[0].to_vector<double>()[0] ==
                      doctest::Approx(p).epsilon(dtype == DType::Float32 ? 1e-5 : 1e-12));
            }
        }
    }
}

TEST_CASE("optim: fused and tensor-op Adam agree on a strided parameter and on random data") {
    manual_seed(3);
    Tensor base = randn({6, 8});
    Tensor p_fused = base.clone().requires_grad_(), p_ops = base.clone().requires_grad_();
    optim::AdamOptions o;
    o.lr = 0.01;
    o.weight_decay = 0.01;
    o.amsgrad = true;
    optim::Adam fused({p_fused}, o);
    o.fused = false;
    optim::Adam ops({p_ops}, o);
    for (int s = 0; s < 4; ++s) {
        Tensor g = randn({6, 8});
        p_fused.set_grad(g.clone());
        p_ops.set_grad(g.clone());
        fused.step();
        ops.step();
    }
    check_close(p_fused, p_ops, 1e-6, 1e-7);
    // A transposed (strided) parameter takes the tensor-op path and gives the same numbers.
    Tensor dense = base.clone().requires_grad_();
    Tensor strided = base.t().contiguous().t();  // same values, column-major storage
    strided.requires_grad_();
    optim::Adam a({dense}, {}), b({strided}, {});
    Tensor g = randn({6, 8});
    dense.set_grad(g.clone());
    strided.set_grad(g.t().contiguous().t());
    a.step();
    b.step();
    check_close(strided.contiguous(), dense, 1e-6, 1e-7);
}

namespace {
bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    return a.numel() == 0 || std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel() * a.element_size())) == 0;
}
}  // namespace

TEST_CASE("optim: adam_update_multi is bitwise adam_update tensor by tensor") {
    manual_seed(5);
    kernels::init();
    const std::vector<int64_t> sizes = {1, 7, 0, 1000, 4099};
    for (DType dtype : {DType::Float32, DType::Float64}) {
        for (bool decoupled : {false, true}) {
            INFO(dtype << " decoupled " << decoupled);
            kernels::AdamHyper h;
            h.lr = 0.01;
            h.weight_decay = 0.05;
            h.decoupled = decoupled;
            h.step = 4;
            // [0] through the list, [1] tensor by tensor; tensor 2 (empty) and 3 have no max_exp_avg_sq.
            std::vector<Tensor> p[2], m[2], v[2], vmax[2], g;
            for (int64_t n : sizes) {
                Tensor p0 = randn({n}, {dtype}), m0 = randn({n}, {dtype}), v0 = square(randn({n}, {dtype}));
                Tensor vmax0 = square(randn({n}, {dtype}));
                g.push_back(randn({n}, {dtype}));
                for (int k = 0; k < 2; ++k) {
                    p[k].push_back(p0.clone());
                    m[k].push_back(m0.clone());
                    v[k].push_back(v0.clone());
                    vmax[k].push_back(vmax0.clone());
                }
            }
            auto vmax_of = [&](int k, size_t t) { return t == 2 || t == 3 ? nullptr : vmax[k][t].raw_data(); };
            std::vector<void*> params, exp_avg, exp_avg_sq, max_exp_avg_sq;
            std::vector<const void*> grads;
            for (size_t t = 0; t < sizes.size(); ++t) {
                params.push_back(p[0][t].raw_data());
                grads.push_back(g[t].raw_data());
                exp_avg.push_back(m[0][t].raw_data());
                exp_avg_sq.push_back(v[0][t].raw_data());
                max_exp_avg_sq.push_back(vmax_of(0, t));
            }
            kernels::AdamTensorList list{int64_t(sizes.size()), params.data(), grads.data(), exp_avg.data(),
                                         exp_avg_sq.data(), max_exp_avg_sq.data(), sizes.data()};
            kernels::adam_update_multi_table().get("reference", Device::CPU, dtype)(list, h);
            for (size_t t = 0; t < sizes.size(); ++t)
                kernels::adam_update_table().get("reference", Device::CPU, dtype)(
                    p[1][t].raw_data(), g[t].raw_data(), m[1][t].raw_data(), v[1][t].raw_data(), vmax_of(1, t),
                    sizes[t], h);
            for (size_t t = 0; t < sizes.size(); ++t) {
                INFO("tensor " << t << " of " << sizes[t] << " elements");
                CHECK(same_bits(p[0][t], p[1][t]));
                CHECK(same_bits(m[0][t], m[1][t]));
                CHECK(same_bits(v[0][t], v[1][t]));
                CHECK(same_bits(vmax[0][t], vmax[1][t]));
            }
        }
    }
}

// Adam's group step goes through adam_update_multi when every parameter with a gradient is
// dense, of one dtype and at one step count; when one parameter skips a step, the counts differ
// and the group falls back to one update per parameter. Either way the parameters and every
// state buffer are bitwise what the reference kernel gives, run parameter by parameter.
TEST_CASE("optim: Adam's multi-tensor group step is bitwise per-parameter updates") {
    manual_seed(9);
    kernels::init();
    const std::vector<Shape> shapes = {Shape{1}, Shape{7}, Shape{33, 5}, Shape{1000}, Shape{4, 3, 3, 3}};
    constexpr int kGroupSteps = 5, kSkipper = 2, kSkippedStep = 3;  // parameter 2 has no gradient at step 3
    for (DType dtype : {DType::Float32, DType::Float64}) {
        for (int config = 0; config < 3; ++config) {
            INFO(dtype << " config " << config);
            optim::AdamOptions o;
            o.lr = 0.01;
            o.weight_decay = config == 0 ? 0.0 : 0.05;
            o.amsgrad = config == 1;
            std::vector<Tensor> params, ref_p, ref_m, ref_v, ref_vmax;
            std::vector<int64_t> ref_step(shapes.size(), 0);
            for (const Shape& s : shapes) {
                Tensor p0 = randn(s, {dtype});
                params.push_back(p0.clone().requires_grad_());
                ref_p.push_back(p0.clone());
                ref_m.push_back(zeros(s, {dtype}));
                ref_v.push_back(zeros(s, {dtype}));
                ref_vmax.push_back(zeros(s, {dtype}));
            }
            std::unique_ptr<optim::Optimizer> opt;
            if (config == 2) {
                optim::AdamWOptions w;
                w.lr = o.lr;
                w.weight_decay = 0.05;
                opt = std::make_unique<optim::AdamW>(params, w);
            } else {
                opt = std::make_unique<optim::Adam>(params, o);
            }
            for (int step = 1; step <= kGroupSteps; ++step) {
                opt->zero_grad();
                for (size_t k = 0; k < shapes.size(); ++k) {
                    Tensor g = randn(shapes[k], {dtype});
                    if (int(k) == kSkipper && step == kSkippedStep) continue;
                    params[k].set_grad(g.clone());
                    kernels::AdamHyper h;
                    h.lr = 0.01;
                    h.weight_decay = config == 0 ? 0.0 : 0.05;
                    h.decoupled = config == 2;
                    h.step = ++ref_step[k];
                    kernels::adam_update_table().get("reference", Device::CPU, dtype)(
                        ref_p[k].raw_data(), g.raw_data(), ref_m[k].raw_data(), ref_v[k].raw_data(),
                        config == 1 ? ref_vmax[k].raw_data() : nullptr, ref_p[k].numel(), h);
                }
                opt->step();
                for (size_t k = 0; k < shapes.size(); ++k) {
                    INFO("step " << step << " parameter " << k);
                    const optim::ParamState& st = opt->state(int64_t(k));
                    CHECK(st.step == ref_step[k]);
                    CHECK(same_bits(params[k].detach(), ref_p[k]));
                    CHECK(same_bits(st.buffers.at("exp_avg"), ref_m[k]));
                    CHECK(same_bits(st.buffers.at("exp_avg_sq"), ref_v[k]));
                    if (config == 1) CHECK(same_bits(st.buffers.at("max_exp_avg_sq"), ref_vmax[k]));
                }
            }
        }
    }
}

// ---- state_dict -------------------------------------------------------------------------------------
TEST_CASE("optim: state_dict round trip resumes bitwise, and bad dicts change nothing") {
    manual_seed(11);
    Tensor w = randn({4, 3}), bias = randn({3});
    auto make_params = [&] {
        return std::vector<Tensor>{w.clone().requires_grad_(), bias.clone().requires_grad_()};
    };
    std::vector<Tensor> grads;
    for (int s = 0; s < 6; ++s) grads.push_back(randn({4, 3})), grads.push_back(randn({3}));
    auto step = [&](optim::Optimizer& opt, std::vector<Tensor>& ps, int s) {
        for (int k = 0; k < 2; ++k) ps[size_t(k)].set_grad(grads[size_t(2 * s + k)].clone());
        opt.step();
    };
    optim::AdamOptions o;
    o.lr = 0.05;
    o.amsgrad = true;

    std::vector<Tensor> ref_params = make_params();
    optim::Adam ref(ref_params, o);
    for (int s = 0; s < 6; ++s) step(ref, ref_params, s);

    std::vector<Tensor> first_params = make_params();
    optim::Adam first(first_params, o);
    for (int s = 0; s < 3; ++s) step(first, first_params, s);
    optim::StateDict sd = first.state_dict();
    for (const char* key : {"group.0.params", "group.0.lr", "group.0.beta1", "group.0.beta2", "group.0.eps",
                            "group.0.weight_decay", "group.0.amsgrad", "state.0.step", "state.0.exp_avg",
                            "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.1.step", "state.1.exp_avg"})
        CHECK_MESSAGE(sd.count(key) == 1, key);
    CHECK(sd.size() == 7 + 2 * 4);
    CHECK(sd.at("state.1.step").dtype() == DType::Int64);
    CHECK(sd.at("state.1.step").item() == 3.0);
    CHECK(sd.at("group.0.params").to_vector<int64_t>() == std::vector<int64_t>{0, 1});

    // A fresh optimizer on copies of the parameters, loaded, continues exactly.
    std::vector<Tensor> resumed_params{first_params[0].detach().clone().requires_grad_(),
                                       first_params[1].detach().clone().requires_grad_()};
    optim::Adam resumed(resumed_params, o);
    resumed.load_state_dict(sd);
    CHECK_FALSE(resumed.state(0).buffers.at("exp_avg").is_same(sd.at("state.0.exp_avg")));
    for (int s = 3; s < 6; ++s) step(resumed, resumed_params, s);
    for (int k = 0; k < 2; ++k)
        CHECK(resumed_params[size_t(k)].to_vector<float>() == ref_params[size_t(k)].to_vector<float>());

    // Bad dicts: each refused with a message, nothing changed.
    auto unchanged = [&](const optim::Optimizer& opt) {
        CHECK(opt.state(0).step == 6);
        CHECK(opt.param_groups()[0].lr == 0.05);
    };
    auto expect_error = [&](optim::StateDict bad, const std::string& fragment) {
        std::string err = error_of([&] { resumed.load_state_dict(bad); });
        INFO(err);
        CHECK(err.find(fragment) != std::string::npos);
        unchanged(resumed);
    };
    optim::StateDict bad = sd;
    bad["state.0.exp_avg"] = zeros({3, 4});
    bad["group.0.lr"] = scalar_tensor(0.5, {DType::Float64});
    expect_error(bad, "state.0.exp_avg is [3, 4] float32, the parameter is [4, 3] float32");
    bad = sd;
    bad.erase("state.1.max_exp_avg_sq");
    expect_error(bad, "state.1 has no 'max_exp_avg_sq'");
    bad = sd;
    bad["state.1.momentum_buffer"] = zeros({3});
    expect_error(bad, "buffer 'momentum_buffer'");
    bad = sd;
    bad["group.0.beta1"] = scalar_tensor(1.5, {DType::Float64});
    expect_error(bad, "beta1 must be in [0, 1)");
    bad = sd;
    bad["state.7.step"] = from_vector(std::vector<int64_t>{1}, Shape{});
    expect_error(bad, "state.7 but the optimizer has 2 parameters");
    bad = sd;
    bad["state.01.step"] = from_vector(std::vector<int64_t>{1}, Shape{});
    expect_error(bad, "unexpected key 'state.01.step'");
    bad = sd;
    bad["group.1.lr"] = scalar_tensor(0.5, {DType::Float64});
    expect_error(bad, "2 parameter groups, this optimizer has 1");
    // The dict of another optimizer.
    std::vector<Tensor> sgd_params = make_params();
    optim::SGD sgd(sgd_params, {.lr = 0.1, .momentum = 0.9});
    expect_error(sgd.state_dict(), "(a dict of another optimizer?)");
}

// ---- schedulers ---------------------------------------------------------------------------------------
namespace {

// lrs of two groups (base 0.1 and 0.01) at epochs 0..12, flattened as the literals.
std::vector<double> schedule(const std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>& make) {
    std::vector<optim::ParamGroup> groups(2);
    groups[0].params = {zeros({1}).requires_grad_()};
    groups[0].lr = 0.1;
    groups[1].params = {zeros({1}).requires_grad_()};
    groups[1].lr = 0.01;
    optim::SGD opt(groups, {.lr = 1.0});
    auto sched = make(opt);
    std::vector<double> out;
    for (int e = 0; e <= 12; ++e) {
        CHECK(sched->epoch() == e);
        for (const optim::ParamGroup& g : opt.param_groups()) out.push_back(g.lr);
        sched->step();
    }
    return out;
}

}  // namespace

TEST_CASE("optim: schedulers give PyTorch's closed-form learning rates") {
    using optim::LRScheduler;
    check_values(schedule([](optim::Optimizer& o) -> std::unique_ptr<LRScheduler> {
                     return std::make_unique<optim::StepLR>(o, 3, 0.5);
                 }),
                 reference("step_lr"), 1e-14, 0);
    check_values(schedule([](optim::Optimizer& o) -> std::unique_ptr<LRScheduler> {
                     return std::make_unique<optim::ExponentialLR>(o, 0.9);
                 }),
                 reference("exponential_lr"), 1e-14, 0);
    check_values(schedule([](optim::Optimizer& o) -> std::unique_ptr<LRScheduler> {
                     return std::make_unique<optim::CosineAnnealingLR>(o, 10, 0.001);
                 }),
                 reference("cosine_lr"), 1e-14, 0);
    check_values(schedule([](optim::Optimizer& o) -> std::unique_ptr<LRScheduler> {
                     return std::make_unique<optim::LinearWarmup>(o, 4, 0.25);
                 }),
                 reference("warmup_lr"), 1e-14, 0);
    check_values(schedule([](optim::Optimizer& o) -> std::unique_ptr<LRScheduler> {
                     auto cosine = std::make_unique<optim::CosineAnnealingLR>(o, 8, 0.001);
                     return std::make_unique<optim::LinearWarmup>(o, 4, 0.25, std::move(cosine));
                 }),
                 reference("warmup_cosine_lr"), 1e-14, 0);
}

TEST_CASE("optim: a scheduler's state_dict resumes its schedule") {
    Tensor p = zeros({1}).requires_grad_();
    optim::SGD opt({p}, {.lr = 0.1});
    optim::CosineAnnealingLR sched(opt, 10, 0.001);
    for (int e = 0; e < 5; ++e) sched.step();
    optim::StateDict sd = sched.state_dict();
    CHECK(sd.at("last_epoch").item() == 5.0);

    optim::SGD opt2({zeros({1}).requires_grad_()}, {.lr = 0.1});
    optim::CosineAnnealingLR sched2(opt2, 10, 0.001);
    sched2.load_state_dict(sd);
    CHECK(sched2.epoch() == 5);
    CHECK(opt2.param_groups()[0].lr == reference("cosine_lr")[2 * 5]);
    sched.step();
    sched2.step();
    CHECK(opt2.param_groups()[0].lr == opt.param_groups()[0].lr);
    CHECK(error_of([&] { optim::StepLR(opt, 0); }).find("step_size must be > 0") != std::string::npos);
}

// ---- clipping -------------------------------------------------------------------------------------
TEST_CASE("optim: clip_grad_norm_ and clip_grad_value_") {
    auto params = [] {
        Tensor a = zeros({2}).requires_grad_(), b = zeros({1, 1}).requires_grad_(), c = zeros({3}).requires_grad_();
        a.set_grad(from_vector<float>({3.f, -4.f}));
        b.set_grad(from_vector<float>({12.f}, {1, 1}));
        return std::vector<Tensor>{a, b, c};  // c has no gradient
    };
    {
        std::vector<Tensor> ps = params();
        double total = optim::clip_grad_norm_(ps, 6.5);
        CHECK(total == doctest::Approx(13.0).epsilon(1e-7));
        const double coef = 6.5 / (13.0 + 1e-6);
        check_close(ps[0].grad(), from_vector<float>({float(3 * coef), float(-4 * coef)}), 1e-6, 0);
        check_close(ps[1].grad(), from_vector<float>({float(12 * coef)}, {1, 1}), 1e-6, 0);
        CHECK_FALSE(ps[2].grad().defined());
    }
    {
        std::vector<Tensor> ps = params();
        CHECK(optim::clip_grad_norm_(ps, 100.0) == doctest::Approx(13.0).epsilon(1e-7));
        CHECK(ps[0].grad().to_vector<float>() == std::vector<float>{3.f, -4.f});  // under the limit: untouched
    }
    {
        std::vector<Tensor> ps = params();
        CHECK(optim::clip_grad_norm_(ps, 6.0, INFINITY) == 12.0);
        check_close(ps[1].grad(), from_vector<float>({float(12 * 6.0 / (12.0 + 1e-6))}, {1, 1}), 1e-6, 0);
    }
    {
        std::vector<Tensor> ps = params();
        CHECK(optim::clip_grad_norm_(ps, 100.0, 1.0) == doctest::Approx(19.0).epsilon(1e-7));
    }
    {
        std::vector<Tensor> ps = params();
        ps[0].grad().fill_(NAN);
        CHECK(error_of([&] { optim::clip_grad_norm_(ps, 1.0, 2.0, true); }).find("nan") != std::string::npos);
    }
    {
        std::vector<Tensor> ps = params();
        optim::clip_grad_value_(ps, 3.5);
        CHECK(ps[0].grad().to_vector<float>() == std::vector<float>{3.f, -3.5f});
        CHECK(ps[1].grad().to_vector<float>() == std::vector<float>{3.5f});
    }
}

// ---- EMA ---------------------------------------------------------------------------------------------
TEST_CASE("optim: exponential moving average of parameters") {
    Tensor w = from_vector<double>({1.0, 2.0}).requires_grad_();
    Tensor counter = from_vector<int64_t>({0});
    optim::ExponentialMovingAverage ema({w, counter}, 0.9);
    std::vector<double> shadow{1.0, 2.0};
    for (int s = 1; s <= 3; ++s) {
        {
            autograd::NoGradGuard ng;
            w.add_(from_vector<double>({1.0, -1.0}));  // w_s = [1 + s, 2 - s]
            counter.fill_(double(s));
        }
        ema.update({w, counter});
        std::vector<double> wv = w.to_vector<double>();
        for (int k = 0; k < 2; ++k) shadow[size_t(k)] = 0.9 * shadow[size_t(k)] + (1 - 0.9) * wv[size_t(k)];
    }
    CHECK(ema.num_updates() == 3);
    check_close(ema.shadow()[0], from_vector<double>(shadow), 1e-15, 1e-15);
    CHECK(ema.shadow()[1].to_vector<int64_t>() == std::vector<int64_t>{3});  // integers are copied

    optim::StateDict sd = ema.state_dict();
    CHECK(sd.size() == 4);
    optim::ExponentialMovingAverage other({zeros({2}, {DType::Float64}), zeros({1}, {DType::Int64})}, 0.5);
    other.load_state_dict(sd);
    CHECK(other.decay() == 0.9);
    CHECK(other.num_updates() == 3);
    CHECK(other.shadow()[0].to_vector<double>() == ema.shadow()[0].to_vector<double>());
    optim::StateDict bad = sd;
    bad["shadow.0"] = zeros({3}, {DType::Float64});
    CHECK(error_of([&] { other.load_state_dict(bad); }).find("shadow.0 is [3]") != std::string::npos);
    CHECK(other.shadow()[0].to_vector<double>() == ema.shadow()[0].to_vector<double>());

    Tensor target = zeros({2}, {DType::Float64}).requires_grad_();
    ema.copy_to({target, counter});
    CHECK(target.to_vector<double>() == ema.shadow()[0].to_vector<double>());
    CHECK(error_of([&] { ema.update({w}); }).find("1 tensors given, the average holds 2") != std::string::npos);
}
