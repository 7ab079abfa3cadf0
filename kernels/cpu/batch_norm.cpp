// CPU batch-norm kernels, plain and with an activation (kernels/batch_norm.h).
//
//   "reference": one channel at a time, serial: a statistics pass (shifted sums in double),
//                then y in double, rounded once, then the activation in the data type (as
//                relu / leaky_relu compute it). The backward applies the activation's mask
//                to g in the data type (as leaky_relu's backward), then the double math.
//                The ground truth for the other variants.
//   "omp":       the same channel code, channels split across OpenMP threads.
//   "avx2", "avx512": kernels/cpu/batch_norm_simd.h (vector passes, channels or blocks of
//                channels across threads); registered when the CPU has the instructions.
// Every channel's sums run in one fixed order on one thread: results do not depend on
// the thread count.
#include <algorithm>
#include <cmath>

#include "kernels/batch_norm.h"
#include "kernels/cpu/isa_kernels.h"

namespace mg::kernels {

namespace {

constexpr int64_t kBatchNormParallelMin = 1 << 15;

// Calls f(index of x) for every value of channel c, n-major then hw.
template <class F> inline void for_channel(const BatchNormShape& s, int64_t c, F&& f) {
    for (int64_t i = 0; i < s.n; ++i) {
        const int64_t base = (i * s.c + c) * s.hw;
        for (int64_t j = 0; j < s.hw; ++j) f(base + j);
    }
}

// The activation's output for the normalised value v, and the gradient it passes back for g at
// the output y: the formulas of kernels/elementwise_ops.h's Relu, LeakyRelu and LeakyReluBackward.
template <class T> T activate(const BatchNormActivation& act, T v) {
    if (act.kind == BatchNormActivation::None) return v;
    if (act.kind == BatchNormActivation::Relu) return v > T(0) ? v : T(0);
    return v > T(0) ? v : T(act.slope) * v;
}
template <class T> T activation_grad(const BatchNormActivation& act, const T* y, const T* g, int64_t i) {
    if (act.kind == BatchNormActivation::None) return g[i];
    return y[i] > T(0) ? g[i] : T(act.negative_slope()) * g[i];
}

template <class T, bool Parallel>
void forward(const BatchNormForwardArgs& a, const BatchNormActivation& act) {
    const BatchNormShape& s = a.shape;
    const T* x = static_cast<const T*>(a.x);
    const T* w = static_cast<const T*>(a.weight);
    const T* b = static_cast<const T*>(a.bias);
    T* rm = static_cast<T*>(a.running_mean);
    T* rv = static_cast<T*>(a.running_var);
    T* y = static_cast<T*>(a.y);
    T* save_mean = static_cast<T*>(a.save_mean);
    T* save_invstd = static_cast<T*>(a.save_invstd);
    const double m = double(s.count());
#pragma omp parallel for schedule(static) if (Parallel && s.n * s.c * s.hw >= kBatchNormParallelMin)
    for (int64_t c = 0; c < s.c; ++c) {
        double mean, var;
        if (a.training) {
            const double k = double(x[c * s.hw]);  // the shift: the channel's first value
            double s1 = 0, s2 = 0;
            for_channel(s, c, [&](int64_t i) {
                double d = double(x[i]) - k;
                s1 += d;
                s2 += d * d;
            });
            mean = k + s1 / m;
            var = std::max(0.0, (s2 - s1 * s1 / m) / m);
            if (rm && rv) {
                rm[c] = T((1.0 - a.momentum) * double(rm[c]) + a.momentum * mean);
                rv[c] = T((1.0 - a.momentum) * double(rv[c]) + a.momentum * var * m / std::max(m - 1.0, 1.0));
            }
        } else {
            mean = double(rm[c]);
            var = double(rv[c]);
        }
        const double invstd = 1.0 / std::sqrt(var + a.eps);
        const double scale = (w ? double(w[c]) : 1.0) * invstd, shift = b ? double(b[c]) : 0.0;
        for_channel(s, c, [&](int64_t i) { y[i] = activate(act, T((double(x[i]) - mean) * scale + shift)); });
        if (save_mean) save_mean[c] = T(mean);
        if (save_invstd) save_invstd[c] = T(invstd);
    }
}

// act != None: grad_y is the activation's output gradient, y_act its output.
template <class T, bool Parallel>
void backward(const BatchNormBackwardArgs& a, const void* y_act, const BatchNormActivation& act) {
    const BatchNormShape& s = a.shape;
    const T* x = static_cast<const T*>(a.x);
    const T* g = static_cast<const T*>(a.grad_y);
    const T* mean_ = static_cast<const T*>(a.save_mean);
    const T* invstd_ = static_cast<const T*>(a.save_invstd);
    const T* w = static_cast<const T*>(a.weight);
    T* gx = static_cast<T*>(a.grad_x);
    T* gw = static_cast<T*>(a.grad_weight);
    T* gb = static_cast<T*>(a.grad_bias);
    const T* ya = static_cast<const T*>(y_act);
    const double m = double(s.count());
#pragma omp parallel for schedule(static) if (Parallel && s.n * s.c * s.hw >= kBatchNormParallelMin)
    for (int64_t c = 0; c < s.c; ++c) {
        const double mean = double(mean_[c]), invstd = double(invstd_[c]), wc = w ? double(w[c]) : 1.0;
        double sum_g = 0, sum_gd = 0;  // sum g, sum g (x - mean)
        for_channel(s, c, [&](int64_t i) {
            const double gi = double(activation_grad(act, ya, g, i));
            sum_g += gi;
            sum_gd += gi * (double(x[i]) - mean);
        });
        if (gb) gb[c] = T(sum_g);
        if (gw) gw[c] = T(sum_gd * invstd);
        if (!gx) continue;
        const double mean_g = sum_g / m, proj = sum_gd * invstd * invstd / m;
        for_channel(s, c, [&](int64_t i) {
            gx[i] = T(wc * invstd * (double(activation_grad(act, ya, g, i)) - mean_g - (double(x[i]) - mean) * proj));
        });
    }
}

template <class T, bool Parallel> void forward_plain(const BatchNormForwardArgs& a) { forward<T, Parallel>(a, {}); }
template <class T, bool Parallel> void backward_plain(const BatchNormBackwardArgs& a) {
    backward<T, Parallel>(a, nullptr, {});
}
template <class T, bool Parallel> void forward_act(const BatchNormActForwardArgs& a) {
    cpu::check_batch_norm_activation("batch_norm_act_forward", a.act);
    forward<T, Parallel>(a.bn, a.act);
}
template <class T, bool Parallel> void backward_act(const BatchNormActBackwardArgs& a) {
    cpu::check_batch_norm_activation("batch_norm_act_backward", a.act);
    backward<T, Parallel>(a.bn, a.y, a.act);
}

template <class T>
void add_portable(DType dt) {
    constexpr auto kCpu = Device::CPU;
    const char* serial = "serial channels, double math";
    const char* threads = "reference channels across OpenMP threads";
    batch_norm_forward_table().add("reference", kCpu, dt, &forward_plain<T, false>, 0, serial);
    batch_norm_forward_table().add("omp", kCpu, dt, &forward_plain<T, true>, 10, threads);
    batch_norm_backward_table().add("reference", kCpu, dt, &backward_plain<T, false>, 0, serial);
    batch_norm_backward_table().add("omp", kCpu, dt, &backward_plain<T, true>, 10, threads);
    batch_norm_act_forward_table().add("reference", kCpu, dt, &forward_act<T, false>, 0, serial);
    batch_norm_act_forward_table().add("omp", kCpu, dt, &forward_act<T, true>, 10, threads);
    batch_norm_act_backward_table().add("reference", kCpu, dt, &backward_act<T, false>, 0, serial);
    batch_norm_act_backward_table().add("omp", kCpu, dt, &backward_act<T, true>, 10, threads);
}

}  // namespace

void cpu::check_batch_norm_activation(const char* op, const BatchNormActivation& act) {
    MG_CHECK(act.kind == BatchNormActivation::None || act.kind == BatchNormActivation::Relu ||
                 act.kind == BatchNormActivation::LeakyRelu,
             "{}: unknown activation {}", op, int(act.kind));
    MG_CHECK(act.kind != BatchNormActivation::LeakyRelu || act.slope >= 0.0,
             "{}: leaky_relu slope {} must be >= 0 (the backward reads the sign of the output)", op, act.slope);
}

void register_cpu_batch_norm() {
    add_portable<float>(DType::Float32);
    add_portable<double>(DType::Float64);
    for (const cpu::IsaKernels* isa : cpu::cpu_isas()) {
        const std::string doc = fmt::format("{} float / {} double lanes, double sums, channels across threads",
                                            isa->lanes_f32, isa->lanes_f32 / 2);
        const int priority = isa->lanes_f32 == 16 ? 20 : 15;
        for (DType dt : {DType::Float32, DType::Float64}) {
            const cpu::IsaDTypeKernels& k = isa->of(dt);
            batch_norm_forward_table().add(isa->name, Device::CPU, dt, k.batch_norm_forward, priority, doc);
            batch_norm_backward_table().add(isa->name, Device::CPU, dt, k.batch_norm_backward, priority, doc);
            batch_norm_act_forward_table().add(isa->name, Device::CPU, dt, k.batch_norm_act_forward, priority, doc);
            batch_norm_act_backward_table().add(isa->name, Device::CPU, dt, k.batch_norm_act_backward, priority, doc);
        }
    }
}

}  // namespace mg::kernels
