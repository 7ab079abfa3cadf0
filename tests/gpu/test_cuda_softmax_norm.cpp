// CUDA softmax / log-softmax / cross-entropy and batch-norm kernels against the CPU reference.
//
// Where an output is a difference of larger terms (log_softmax's x - lse, a loss near 0,
// a gradient sum), its tolerance is relative to the size of those terms (expect_close's
// `magnitude`): the GPU adds in another order, and cancellation makes |want| a poor scale.
#include <limits>

#include "kernels/batch_norm.h"
#include "kernels/softmax.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// Runs f and returns the message of the mg::Error it throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const mg::Error& e) {
        return e.what();
    }
    return "";
}

// ---- softmax, log-softmax, cross-entropy -----------------------------------------------------

// Probabilities of far-apart logits fall below the normal range of float (e^-100), where a
// value has fewer bits than rtol asks for: below numeric_limits<T>::min() the tolerance is
// absolute, that number.
template <class T>
double subnormal_floor(double rtol) {
    return std::numeric_limits<T>::min() / rtol;
}

struct SoftmaxCase {
    SoftmaxShape shape;
    double range;  // logits uniform in [-range, range]
};

std::vector<SoftmaxCase> softmax_cases() {
    return {
        {{128, 10, 1}, 5},     // the classifier's [128, 10]
        {{128, 10, 1}, 80},    // large logits: e^80 in the sum would overflow float32 without the max shift
        {{64, 10, 1}, 1000},   // e^1000 overflows double: only the max shift keeps this finite
        {{37, 256, 1}, 80},    // 37 rows: not a multiple of the 8 warps of a block; 8 classes per lane
        {{5, 1000, 1}, 3},     // 1000 classes: lanes loop, with a partial last round
        {{9, 1, 1}, 3},        // one class: softmax 1, log_softmax 0, loss 0
        {{2, 256, 784}, 80},   // PixelCNN's logits over channels (2 images of its 64)
        {{3, 10, 100}, 5},     // 300 rows of a thread each: not a multiple of the 256-thread block
        {{4, 1, 7}, 3},        // one class, inner > 1
    };
}

// Calls f(base, r) for every row r; the row's class c is at base + c * inner.
template <class F>
void for_rows(const SoftmaxShape& s, F&& f) {
    for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) f(o * s.classes * s.inner + i, o * s.inner + i);
}

template <class T>
void check_softmax(const SoftmaxCase& sc) {
    constexpr DType t = dtype_of<T>::value;
    const SoftmaxShape& s = sc.shape;
    const size_t size = size_t(s.outer * s.classes * s.inner);
    const auto x = random_values<T>(size, -sc.range, sc.range);
    const auto gy = random_values<T>(size, -1, 1);
    for (bool log : {false, true}) {
        const std::string op = log ? "log_softmax" : "softmax";
        INFO(op);
        // The reference's output feeds both backward kernels: only the backward is compared.
        std::vector<T> y(size);
        softmax_forward_table().get("reference", Device::CPU, t)(s, x.data(), y.data(), log);

        for_each_variant(softmax_forward_table(), t,
                         [&](const std::string& name, SoftmaxForwardFn* fn, SoftmaxForwardFn* ref) {
                             auto want = sentinel<T>(size);
                             DeviceBuffer dx(x), dy(want);
                             ref(s, x.data(), want.data(), log);
                             fn(s, dx.get(), dy.get(), log);
                             // log_softmax = x - lse: scale by |x| + |lse|
                             std::vector<T> magnitude;
                             if (log)
                                 for (size_t i = 0; i < size; ++i)
                                     magnitude.push_back(
                                         T(std::fabs(double(x[i])) + std::fabs(double(x[i]) - double(want[i]))));
                             const double rtol = rtol_for<T>(name);
                             expect_close(op + "_forward[" + name + "]", dy.download<T>(), want, rtol, magnitude,
                                          subnormal_floor<T>(rtol));
                         });

        for_each_variant(softmax_backward_table(), t,
                         [&](const std::string& name, SoftmaxBackwardFn* fn, SoftmaxBackwardFn* ref) {
                             auto want = sentinel<T>(size);
                             DeviceBuffer dy(y), dgy(gy), dgx(want);
                             ref(s, y.data(), gy.data(), want.data(), log);
                             fn(s, dy.get(), dgy.get(), dgx.get(), log);
                             // softmax: y (|gy| + sum |gy| y);  log_softmax: |gy| + e^y sum |gy|
                             std::vector<T> magnitude(size);
                             for_rows(s, [&](int64_t base, int64_t) {
                                 double abs_sum = 0;
                                 for (int64_t c = 0; c < s.classes; ++c) {
                                     const size_t i = size_t(base + c * s.inner);
                                     abs_sum += std::fabs(double(gy[i])) * (log ? 1.0 : double(y[i]));
                                 }
                                 for (int64_t c = 0; c < s.classes; ++c) {
                                     const size_t i = size_t(base + c * s.inner);
                                     const double g = std::fabs(double(gy[i])), yi = double(y[i]);
                                     magnitude[i] = T(log ? g + std::exp(yi) * abs_sum : yi * (g + abs_sum));
                                 }
                             });
                             const double rtol = rtol_for<T>(name);
                             expect_close(op + "_backward[" + name + "]", dgx.download<T>(), want, rtol, magnitude,
                                          subnormal_floor<T>(rtol));
                         });
    }
}

template <class T>
void check_cross_entropy(const SoftmaxCase& sc) {
    constexpr DType t = dtype_of<T>::value;
    const SoftmaxShape& s = sc.shape;
    const size_t size = size_t(s.outer * s.classes * s.inner), rows = size_t(s.rows());
    const auto x = random_values<T>(size, -sc.range, sc.range);
    const auto target = random_values<int64_t>(rows, 0, double(s.classes - 1));
    // The reference's lse feeds both backward kernels.
    std::vector<T> loss(rows), lse(rows);
    cross_entropy_forward_table().get("reference", Device::CPU, t)(s, x.data(), target.data(), loss.data(),
                                                                   lse.data());

    for_each_variant(
        cross_entropy_forward_table(), t,
        [&](const std::string& name, CrossEntropyForwardFn* fn, CrossEntropyForwardFn* ref) {
            auto want_loss = sentinel<T>(rows), want_lse = sentinel<T>(rows);
            DeviceBuffer dx(x), dtarget(target), dloss(want_loss), dlse(want_lse);
            ref(s, x.data(), target.data(), want_loss.data(), want_lse.data());
            fn(s, dx.get(), dtarget.get<int64_t>(), dloss.get(), dlse.get());
            // loss = lse - x[target]: scale by |lse| + |x[target]|
            std::vector<T> magnitude(rows);
            for_rows(s, [&](int64_t base, int64_t r) {
                const double xt = double(x[size_t(base + target[size_t(r)] * s.inner)]);
                magnitude[size_t(r)] = T(std::fabs(double(want_lse[size_t(r)])) + std::fabs(xt));
            });
            expect_close("cross_entropy_forward[" + name + "] loss", dloss.download<T>(), want_loss,
                         rtol_for<T>(name), magnitude);
            expect_close("cross_entropy_forward[" + name + "] lse", dlse.download<T>(), want_lse, rtol_for<T>(name),
                         {}, 1.0);

            // A target out of range (one past the end, and -1) is an mg::Error after the
            // kernel; its row's loss is NaN, the other rows are still computed.
            auto bad = target;
            bad.back() = s.classes;
            if (rows > 1) bad.front() = -1;
            DeviceBuffer dbad(bad), dloss_bad(sentinel<T>(rows));
            const std::string message =
                error_of([&] { fn(s, dx.get(), dbad.get<int64_t>(), dloss_bad.get(), dlse.get()); });
            CHECK_MESSAGE(message.find("out of range") != std::string::npos,
                          "cross_entropy_forward[", name, "] with a bad target: \"", message, "\"");
            const auto got_bad = dloss_bad.download<T>();
            CHECK(std::isnan(double(got_bad.back())));
            if (rows > 2) CHECK(double(got_bad[1]) == double(dloss.download<T>()[1]));
        });

    // Reduction mean (one broadcast gradient, scale 1/rows) and none (a gradient per row).
    for (int64_t grad_stride : {0, 1}) {
        INFO("grad_stride ", grad_stride);
        const double scale = grad_stride == 0 ? 1.0 / double(rows) : 1.0;
        const auto grad = random_values<T>(grad_stride == 0 ? 1 : rows, -2, 2);
        for_each_variant(cross_entropy_backward_table(), t,
                         [&](const std::string& name, CrossEntropyBackwardFn* fn, CrossEntropyBackwardFn* ref) {
                             auto want = sentinel<T>(size);
                             DeviceBuffer dx(x), dtarget(target), dlse(lse), dgrad(grad), dgx(want);
                             ref(s, x.data(), target.data(), lse.data(), grad.data(), grad_stride, scale,
                                 want.data());
                             fn(s, dx.get(), dtarget.get<int64_t>(), dlse.get(), dgrad.get(), grad_stride, scale,
                                dgx.get());
                             // (p - onehot) g: scale by (p + onehot) |g|
                             std::vector<T> magnitude(size);
                             for_rows(s, [&](int64_t base, int64_t r) {
                                 const double g = std::fabs(double(grad[size_t(r * grad_stride)]) * scale);
                                 for (int64_t c = 0; c < s.classes; ++c) {
                                     const size_t i = size_t(base + c * s.inner);
                                     const double p = std::exp(double(x[i]) - double(lse[size_t(r)]));
                                     magnitude[i] = T((p + (c == target[size_t(r)] ? 1.0 : 0.0)) * g);
                                 }
                             });
                             const double rtol = rtol_for<T>(name);
                             expect_close("cross_entropy_backward[" + name + "]", dgx.download<T>(), want, rtol,
                                          magnitude, subnormal_floor<T>(rtol));
                         });
    }
}

// No rows (or no classes): nothing to launch, nothing thrown, no pointer touched.
template <class T>
void check_softmax_empty() {
    constexpr DType t = dtype_of<T>::value;
    for (SoftmaxShape s : {SoftmaxShape{0, 10, 1}, SoftmaxShape{0, 256, 784}, SoftmaxShape{4, 0, 3}}) {
        INFO("shape [", s.outer, ", ", s.classes, ", ", s.inner, "]");
        for_each_variant(softmax_forward_table(), t, [&](const std::string&, SoftmaxForwardFn* fn, SoftmaxForwardFn*) {
            fn(s, nullptr, nullptr, false);
        });
        for_each_variant(softmax_backward_table(), t,
                         [&](const std::string&, SoftmaxBackwardFn* fn, SoftmaxBackwardFn*) {
                             fn(s, nullptr, nullptr, nullptr, true);
                         });
        for_each_variant(cross_entropy_backward_table(), t,
                         [&](const std::string&, CrossEntropyBackwardFn* fn, CrossEntropyBackwardFn*) {
                             fn(s, nullptr, nullptr, nullptr, nullptr, 0, 1.0, nullptr);
                         });
        if (s.rows() == 0)
            for_each_variant(cross_entropy_forward_table(), t,
                             [&](const std::string&, CrossEntropyForwardFn* fn, CrossEntropyForwardFn*) {
                                 fn(s, nullptr, nullptr, nullptr, nullptr);
                             });
    }
}

TEST_CASE("cuda softmax: softmax, log_softmax and cross_entropy match the CPU reference") {
    for (const SoftmaxCase& sc : softmax_cases()) {
        INFO("shape [", sc.shape.outer, ", ", sc.shape.classes, ", ", sc.shape.inner, "], logits in +-", sc.range);
        check_softmax<float>(sc);
        check_softmax<double>(sc);
        check_cross_entropy<float>(sc);
        check_cross_entropy<double>(sc);
    }
    check_softmax_empty<float>();
    check_softmax_empty<double>();
}

// ---- batch norm ----------------------------------------------------------------------------------

std::vector<BatchNormShape> batch_norm_shapes() {
    return {
        {4, 3, 49},     // 196 values per channel: fewer than the 256 threads
        {64, 8, 49},    // dcgan's 7x7 maps (8 of its 128 channels): 3136 values, 12.25 blocks' worth
        {64, 16, 1},    // BatchNorm1d [64, C]: hw = 1, a channel is a strided column
        {300, 5, 1},    // 300 values: one full round of threads plus a tail
        {2, 4, 196},    // 14x14 maps
        {3, 1, 784},    // one channel
        {1, 3, 1},      // one value per channel: var 0, the unbiased factor M / max(M-1, 1) = 1
    };
}

struct ForwardConfig {
    bool training, affine, running, save;
};

template <class T>
void check_batch_norm_forward(const BatchNormShape& s) {
    constexpr DType t = dtype_of<T>::value;
    const size_t size = size_t(s.n * s.c * s.hw), channels = size_t(s.c);
    // A mean near 3 with spread 1: the shifted sums are exercised.
    const auto x = random_values<T>(size, 2, 4);
    const auto weight = random_values<T>(channels, 0.5, 1.5), bias = random_values<T>(channels, -0.5, 0.5);
    const auto mean0 = random_values<T>(channels, 2, 4), var0 = random_values<T>(channels, 0.5, 1.5);
    const ForwardConfig configs[] = {
        {true, true, true, true},     // training, affine, running stats
        {true, false, false, true},   // training, no affine, no running stats
        {true, true, true, false},    // training, no save_*
        {true, false, true, false},
        {false, true, true, true},    // eval
        {false, false, true, false},  // eval, no affine, no save_*
    };
    for (const ForwardConfig& cfg : configs) {
        INFO("training ", cfg.training, " affine ", cfg.affine, " running stats ", cfg.running, " save ", cfg.save);
        for_each_variant(
            batch_norm_forward_table(), t,
            [&](const std::string& name, BatchNormForwardFn* fn, BatchNormForwardFn* ref) {
                auto want_y = sentinel<T>(size), want_mean = sentinel<T>(channels),
                     want_invstd = sentinel<T>(channels);
                auto want_rm = mean0, want_rv = var0;
                DeviceBuffer dx(x), dw(weight), db(bias), drm(mean0), drv(var0), dy(want_y), dmean(want_mean),
                    dinvstd(want_invstd);
                BatchNormForwardArgs host, dev;
                host.shape = dev.shape = s;
                host.training = dev.training = cfg.training;
                host.momentum = dev.momentum = 0.1;
                host.eps = dev.eps = 1e-5;
                host.x = x.data(), dev.x = dx.get();
                if (cfg.affine) {
                    host.weight = weight.data(), dev.weight = dw.get();
                    host.bias = bias.data(), dev.bias = db.get();
                }
                if (cfg.running) {
                    host.running_mean = want_rm.data(), dev.running_mean = drm.get();
                    host.running_var = want_rv.data(), dev.running_var = drv.get();
                }
                host.y = want_y.data(), dev.y = dy.get();
                if (cfg.save) {
                    host.save_mean = want_mean.data(), dev.save_mean = dmean.get();
                    host.save_invstd = want_invstd.data(), dev.save_invstd = dinvstd.get();
                }
                ref(host);
                fn(dev);
                const std::string what = "batch_norm_forward[" + name + "] ";
                const double rtol = rtol_for<T>(name);
                // y = (x - mean) scale + shift is O(1) and cancels near the mean: floor 1
                expect_close(what + "y", dy.download<T>(), want_y, rtol, {}, 1.0);
                // untouched (equal to the inputs) when not given or in eval mode
                expect_close(what + "running_mean", drm.download<T>(), want_rm, rtol, {}, 1.0);
                expect_close(what + "running_var", drv.download<T>(), want_rv, rtol, {}, 1.0);
                // sentinels when not given
                expect_close(what + "save_mean", dmean.download<T>(), want_mean, rtol, {}, 1.0);
                expect_close(what + "save_invstd", dinvstd.download<T>(), want_invstd, rtol, {}, 1.0);
            });
    }
}

template <class T>
void check_batch_norm_backward(const BatchNormShape& s) {
    constexpr DType t = dtype_of<T>::value;
    const size_t size = size_t(s.n * s.c * s.hw), channels = size_t(s.c);
    const auto x = random_values<T>(size, 2, 4);
    const auto gy = random_values<T>(size, -1, 1);
    const auto weight = random_values<T>(channels, 0.5, 1.5);
    // The saved statistics of the reference's training forward.
    std::vector<T> y(size), save_mean(channels), save_invstd(channels);
    {
        BatchNormForwardArgs a;
        a.shape = s;
        a.x = x.data();
        a.y = y.data();
        a.save_mean = save_mean.data();
        a.save_invstd = save_invstd.data();
        batch_norm_forward_table().get("reference", Device::CPU, t)(a);
    }
    // The sizes of the terms of the two sums, per channel: sum |g|, sum |g (x - mean)| invstd.
    std::vector<T> abs_sum_g(channels), abs_sum_gxhat(channels);
    for (int64_t c = 0; c < s.c; ++c) {
        double sg = 0, sgx = 0;
        for (int64_t i = 0; i < s.n; ++i)
            for (int64_t j = 0; j < s.hw; ++j) {
                const size_t k = size_t((i * s.c + c) * s.hw + j);
                sg += std::fabs(double(gy[k]));
                sgx += std::fabs(double(gy[k]) * (double(x[k]) - double(save_mean[size_t(c)])));
            }
        abs_sum_g[size_t(c)] = T(sg);
        abs_sum_gxhat[size_t(c)] = T(sgx * double(save_invstd[size_t(c)]));
    }
    for (bool affine : {true, false})
        for (int outputs = 1; outputs < 8; ++outputs) {  // bit 0 grad_x, bit 1 grad_weight, bit 2 grad_bias
            const bool want_gx = outputs & 1, want_gw = outputs & 2, want_gb = outputs & 4;
            INFO("affine ", affine, " grad_x ", want_gx, " grad_weight ", want_gw, " grad_bias ", want_gb);
            for_each_variant(
                batch_norm_backward_table(), t,
                [&](const std::string& name, BatchNormBackwardFn* fn, BatchNormBackwardFn* ref) {
                    auto gx = sentinel<T>(size), gw = sentinel<T>(channels), gb = sentinel<T>(channels);
                    DeviceBuffer dx(x), dgy(gy), dmean(save_mean), dinvstd(save_invstd), dw(weight), dgx(gx),
                        dgw(gw), dgb(gb);
                    BatchNormBackwardArgs host, dev;
                    host.shape = dev.shape = s;
                    host.x = x.data(), dev.x = dx.get();
                    host.grad_y = gy.data(), dev.grad_y = dgy.get();
                    host.save_mean = save_mean.data(), dev.save_mean = dmean.get();
                    host.save_invstd = save_invstd.data(), dev.save_invstd = dinvstd.get();
                    if (affine) host.weight = weight.data(), dev.weight = dw.get();
                    if (want_gx) host.grad_x = gx.data(), dev.grad_x = dgx.get();
                    if (want_gw) host.grad_weight = gw.data(), dev.grad_weight = dgw.get();
                    if (want_gb) host.grad_bias = gb.data(), dev.grad_bias = dgb.get();
                    ref(host);
                    fn(dev);
                    const std::string what = "batch_norm_backward[" + name + "] ";
                    const double rtol = rtol_for<T>(name);
                    // sentinels where an output is not given
                    expect_close(what + "grad_x", dgx.download<T>(), gx, rtol, {}, 1.0);
                    expect_close(what + "grad_weight", dgw.download<T>(), gw, rtol, want_gw ? abs_sum_gxhat : std::vector<T>{});
                    expect_close(what + "grad_bias", dgb.download<T>(), gb, rtol, want_gb ? abs_sum_g : std::vector<T>{});
                });
        }
}

// No channels: nothing to launch, nothing thrown.
template <class T>
void check_batch_norm_empty() {
    constexpr DType t = dtype_of<T>::value;
    for_each_variant(batch_norm_forward_table(), t, [&](const std::string&, BatchNormForwardFn* fn, BatchNormForwardFn*) {
        BatchNormForwardArgs a;
        a.shape = {8, 0, 49};
        fn(a);
    });
    for_each_variant(batch_norm_backward_table(), t,
                     [&](const std::string&, BatchNormBackwardFn* fn, BatchNormBackwardFn*) {
                         BatchNormBackwardArgs a;
                         a.shape = {8, 0, 49};
                         fn(a);
                     });
}

TEST_CASE("cuda batch_norm: forward (training, eval) and backward match the CPU reference") {
    for (const BatchNormShape& s : batch_norm_shapes()) {
        INFO("shape [", s.n, ", ", s.c, ", ", s.hw, "]");
        check_batch_norm_forward<float>(s);
        check_batch_norm_forward<double>(s);
        check_batch_norm_backward<float>(s);
        check_batch_norm_backward<double>(s);
    }
    check_batch_norm_empty<float>();
    check_batch_norm_empty<double>();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
