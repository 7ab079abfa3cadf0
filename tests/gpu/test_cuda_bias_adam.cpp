// CUDA bias + leaky_relu and Adam/AdamW kernels against the CPU reference.
//
// The forward and the backward's gy are one add, one multiply and one select per element:
// exact. gbias sums in double in another order than the CPU: rtol_for relative to sum |gy|.
// The Adam kernels round every operation as the CPU does (no FMA), so they should be bitwise
// the reference; the checks allow 1e-6 (float32) / 1e-12 (float64) relative, and say so
// when the results are close but not bitwise.
#include <cstring>
#include <memory>

#include "kernels/bias_act.h"
#include "kernels/optim.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// ---- bias + leaky_relu ------------------------------------------------------------------------

struct BiasCase {
    int64_t outer, channels, inner;
};

// gan2d's Linear [512, 128], the VAE's [128, 400], dcgan's conv [64, 64, 14*14], odd shapes,
// and shapes with nothing to sum (gbias must come out zero).
std::vector<BiasCase> bias_cases() {
    return {{512, 128, 1}, {128, 400, 1}, {64, 64, 14 * 14}, {3, 5, 7}, {1, 1, 1}, {2, 3, 1000}, {0, 4, 3}, {5, 3, 0}};
}

template <class T>
void check_bias_act() {
    constexpr DType t = dtype_of<T>::value;
    for (const BiasCase& c : bias_cases()) {
        for (double slope : {0.0, 0.2}) {
            INFO("bias_act [", c.outer, ", ", c.channels, ", ", c.inner, "] slope ", slope);
            BiasActShape s;
            s.outer = c.outer, s.channels = c.channels, s.inner = c.inner, s.slope = slope;
            const size_t total = size_t(c.outer * c.channels * c.inner), channels = size_t(c.channels);
            const auto y = random_values<T>(total, -3, 3);
            const auto bias = random_values<T>(channels, -1, 1);
            auto g = random_values<T>(total, -3, 3);
            // out from the CPU forward, with exact zeros sprinkled in: out > 0 is false there.
            std::vector<T> out(total);
            bias_act_forward_table().get("reference", Device::CPU, t)(s, y.data(), bias.data(), out.data());
            for (size_t i = 0; i < total; i += 7) out[i] = T(0);

            for_each_variant(bias_act_forward_table(), t,
                             [&](const std::string& name, BiasActForwardFn* fn, BiasActForwardFn* ref) {
                                 auto want = sentinel<T>(total);
                                 DeviceBuffer dy(y), db(bias), dout(want);
                                 ref(s, y.data(), bias.data(), want.data());
                                 fn(s, dy.get(), db.get(), dout.get());
                                 expect_close("bias_act_forward[" + name + "]", dout.download<T>(), want, 0.0);
                             });
            for_each_variant(
                bias_act_backward_table(), t,
                [&](const std::string& name, BiasActBackwardFn* fn, BiasActBackwardFn* ref) {
                    auto want_gy = sentinel<T>(total), want_gb = sentinel<T>(channels);
                    auto size_gy = want_gy, size_gb = want_gb;  // sum |gy| per channel: the scale of gbias
                    DeviceBuffer dout(out), dg(g), dgy(want_gy), dgb(want_gb);
                    ref(s, out.data(), g.data(), want_gy.data(), want_gb.data());
                    ref(s, out.data(), absolute(g).data(), size_gy.data(), size_gb.data());
                    fn(s, dout.get(), dg.get(), dgy.get(), dgb.get());
                    expect_close("bias_act_backward[" + name + "] gy", dgy.download<T>(), want_gy, 0.0);
                    expect_close("bias_act_backward[" + name + "] gbias", dgb.download<T>(), want_gb, rtol_for<T>(name),
                                 size_gb);
                });
        }
    }
}

TEST_CASE("cuda bias_act: forward and backward match the CPU reference") {
    check_bias_act<float>();
    check_bias_act<double>();
}

// ---- Adam / AdamW ---------------------------------------------------------------------------

template <class T>
double adam_rtol() {
    return std::is_same_v<T, float> ? 1e-6 : 1e-12;
}

// Close at adam_rtol (relative to max(|want|, 1e-3)); a note when not bitwise.
template <class T>
void expect_adam_close(const std::string& what, const std::vector<T>& got, const std::vector<T>& want) {
    expect_close(what, got, want, adam_rtol<T>(), {}, 1e-3);
    if (got.size() == want.size() && !got.empty() && std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) != 0)
        MESSAGE(what, ": close, but not bitwise the CPU reference");
}

struct AdamConfig {
    const char* name;
    double weight_decay;
    bool decoupled, amsgrad;
};

std::vector<AdamConfig> adam_configs() {
    return {{"adam", 0.0, false, false},           {"adam wd", 0.05, false, false},
            {"adam wd amsgrad", 0.05, false, true}, {"adamw", 0.05, true, false},
            {"adamw amsgrad", 0.05, true, true},    {"amsgrad", 0.0, false, true}};
}

AdamHyper hyper_of(const AdamConfig& c, int64_t step) {
    AdamHyper h;
    h.lr = 0.01;
    h.weight_decay = c.weight_decay;
    h.decoupled = c.decoupled;
    h.step = step;
    return h;
}

// One tensor's state on the host: param, grad and the three moment buffers.
template <class T>
struct HostAdamTensor {
    std::vector<T> p, g, m, v, vmax;
    explicit HostAdamTensor(size_t n)
        : p(random_values<T>(n, -2, 2)),
          g(random_values<T>(n, -1, 1)),
          m(random_values<T>(n, -0.1, 0.1)),
          v(random_values<T>(n, 0, 0.01)),
          vmax(random_values<T>(n, 0, 0.01)) {}
};

template <class T>
void check_adam_update() {
    constexpr DType t = dtype_of<T>::value;
    for (int64_t n : {int64_t(1), int64_t(1000), int64_t(4099)}) {
        for (const AdamConfig& c : adam_configs()) {
            for (int64_t step : {int64_t(1), int64_t(10)}) {
                INFO("adam_update n=", n, " ", c.name, " step ", step);
                const AdamHyper h = hyper_of(c, step);
                auto check = [&](const std::string& name, AdamUpdateFn* fn, AdamUpdateFn* ref) {
                    HostAdamTensor<T> want{size_t(n)};
                    DeviceBuffer dp(want.p), dg(want.g), dm(want.m), dv(want.v), dvmax(want.vmax);
                    ref(want.p.data(), want.g.data(), want.m.data(), want.v.data(),
                        c.amsgrad ? want.vmax.data() : nullptr, n, h);
                    fn(dp.get(), dg.get(), dm.get(), dv.get(), c.amsgrad ? dvmax.get() : nullptr, n, h);
                    const std::string what = "adam_update[" + name + "] ";
                    expect_adam_close(what + "param", dp.download<T>(), want.p);
                    expect_adam_close(what + "exp_avg", dm.download<T>(), want.m);
                    expect_adam_close(what + "exp_avg_sq", dv.download<T>(), want.v);
                    expect_adam_close(what + "max_exp_avg_sq", dvmax.download<T>(), want.vmax);
                };
                for_each_variant(adam_update_table(), t, check);
            }
        }
    }
}

TEST_CASE("cuda adam_update: Adam, AdamW and AMSGrad match the CPU reference") {
    check_adam_update<float>();
    check_adam_update<double>();
}

// A list of tensors on the device and the same on the host; the host side is stepped by the
// CPU reference adam_update tensor by tensor, the device side by one adam_update_multi call.
// Tensors listed in `plain` get no max_exp_avg_sq entry (plain Adam inside an AMSGrad list).
template <class T>
void check_adam_multi_list(AdamUpdateMultiFn* fn, const std::string& name, const std::vector<int64_t>& sizes,
                           const AdamConfig& c, const std::vector<int64_t>& steps, const std::vector<size_t>& plain) {
    constexpr DType t = dtype_of<T>::value;
    AdamUpdateFn* ref = adam_update_table().get("reference", Device::CPU, t);
    std::vector<HostAdamTensor<T>> want;
    std::vector<std::unique_ptr<DeviceBuffer>> buffers;  // 5 per tensor: p, g, m, v, vmax
    std::vector<void*> params, exp_avg, exp_avg_sq, max_exp_avg_sq;
    std::vector<const void*> grads;
    for (size_t k = 0; k < sizes.size(); ++k) {
        want.emplace_back(size_t(sizes[k]));
        const HostAdamTensor<T>& w = want.back();
        for (const std::vector<T>* host : {&w.p, &w.g, &w.m, &w.v, &w.vmax})
            buffers.push_back(std::make_unique<DeviceBuffer>(*host));
        const size_t b = 5 * k;
        params.push_back(buffers[b]->get());
        grads.push_back(buffers[b + 1]->get());
        exp_avg.push_back(buffers[b + 2]->get());
        exp_avg_sq.push_back(buffers[b + 3]->get());
        const bool has_vmax = c.amsgrad && std::find(plain.begin(), plain.end(), k) == plain.end();
        max_exp_avg_sq.push_back(has_vmax ? buffers[b + 4]->get() : nullptr);
    }
    AdamTensorList list;
    list.count = int64_t(sizes.size());
    list.params = params.data();
    list.grads = grads.data();
    list.exp_avg = exp_avg.data();
    list.exp_avg_sq = exp_avg_sq.data();
    list.max_exp_avg_sq = c.amsgrad ? max_exp_avg_sq.data() : nullptr;  // a null array when no tensor has one
    list.numels = sizes.data();
    // Consecutive steps reuse the staging buffer of the device table.
    for (int64_t step : steps) {
        const AdamHyper h = hyper_of(c, step);
        for (size_t k = 0; k < sizes.size(); ++k) {
            HostAdamTensor<T>& w = want[k];
            ref(w.p.data(), w.g.data(), w.m.data(), w.v.data(), max_exp_avg_sq[k] ? w.vmax.data() : nullptr,
                sizes[k], h);
        }
        fn(list, h);
    }
    for (size_t k = 0; k < sizes.size(); ++k) {
        INFO("tensor ", k, " of ", sizes[k], " elements");
        const std::string what = "adam_update_multi[" + name + "] ";
        const size_t b = 5 * k;
        expect_adam_close(what + "param", buffers[b]->download<T>(), want[k].p);
        expect_adam_close(what + "exp_avg", buffers[b + 2]->download<T>(), want[k].m);
        expect_adam_close(what + "exp_avg_sq", buffers[b + 3]->download<T>(), want[k].v);
        expect_adam_close(what + "max_exp_avg_sq", buffers[b + 4]->download<T>(), want[k].vmax);
    }
}

template <class T>
void check_adam_update_multi() {
    constexpr DType t = dtype_of<T>::value;
    auto check = [&](const std::string& name, AdamUpdateMultiFn* fn, AdamUpdateMultiFn*) {
        // Odd sizes, an empty tensor among them; single steps 1 and 10, and a run of steps.
        const std::vector<int64_t> sizes = {1, 7, 0, 1000, 4099, 65536};
        for (const AdamConfig& c : adam_configs()) {
            for (const std::vector<int64_t>& steps : {std::vector<int64_t>{1}, std::vector<int64_t>{10},
                                                      std::vector<int64_t>{1, 2, 3}}) {
                INFO("adam_update_multi ", c.name, " steps ", steps.front(), "..", steps.back());
                check_adam_multi_list<T>(fn, name, sizes, c, steps, {});
            }
        }
        {
            INFO("amsgrad list where tensors 1 and 4 have no max_exp_avg_sq");
            check_adam_multi_list<T>(fn, name, sizes, adam_configs()[2], {1, 2}, {1, 4});
        }
        {
            // 300 tensors: a table larger than the first staging buffer (it grows), a deeper search.
            INFO("300 small tensors");
            std::vector<int64_t> many;
            for (int64_t k = 0; k < 300; ++k) many.push_back(k % 13 == 5 ? 0 : 1 + (k * 37) % 97);
            check_adam_multi_list<T>(fn, name, many, adam_configs()[4], {3, 4}, {});
        }
        {
            INFO("an empty list and a list of empty tensors");
            check_adam_multi_list<T>(fn, name, {}, adam_configs()[0], {1}, {});
            check_adam_multi_list<T>(fn, name, {0, 0}, adam_configs()[0], {1}, {});
        }
    };
    for_each_variant(adam_update_multi_table(), t, check);
}

TEST_CASE("cuda adam_update_multi: one launch over many tensors matches per-tensor CPU updates") {
    check_adam_update_multi<float>();
    check_adam_update_multi<double>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
