// CPU softmax, log-softmax and softmax cross-entropy kernels (kernels/softmax.h).
//
//   "reference": one row at a time, serial; max, then sum of e^(x - max) in double with
//                libm's exp, then the outputs. The ground truth for the other variants.
//   "omp":       the same row code, rows split across OpenMP threads above kSoftmaxParallelMin
//                elements (for CPUs without AVX2).
//   "avx2", "avx512": kernels/cpu/softmax_simd.h (vector exp, rows or blocks of rows in
//                vector lanes, threads); registered when the CPU has the instructions.
// The vector code counts out-of-range targets and calls check_cross_entropy_targets, so
// that the error is formatted here, in code compiled for the baseline instruction set.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cpu/isa_kernels.h"
#include "kernels/softmax.h"

namespace mg::kernels {

void cpu::check_cross_entropy_targets(int64_t bad, const SoftmaxShape& s) {
    MG_CHECK(bad == 0, "cross_entropy: {} of {} targets out of range [0, {})", bad, s.rows(), s.classes);
}

namespace {

constexpr int64_t kSoftmaxParallelMin = 1 << 15;

// Row r of [outer, classes, inner]: element c is at base + c * inner.
inline int64_t row_base(const SoftmaxShape& s, int64_t r) {
    return (r / s.inner) * s.classes * s.inner + r % s.inner;
}

// row(r, base) for every row r (base: its element 0), rows split across OpenMP threads when
// Parallel and the tensor is large; returns the sum of what row returns (cross-entropy's count
// of bad targets), 0 when row returns nothing.
template <bool Parallel, class Row> int64_t for_each_row(const SoftmaxShape& s, Row&& row) {
    int64_t total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) \
    if (Parallel && s.rows() * s.classes >= kSoftmaxParallelMin)
    for (int64_t r = 0; r < s.rows(); ++r) {
        if constexpr (std::is_void_v<decltype(row(r, r))>) row(r, row_base(s, r));
        else total += row(r, row_base(s, r));
    }
    return total;
}

// max and ln sum e^(x - max) of one row, in double; a NaN anywhere makes both NaN.
template <class T> void row_stats(const T* x, int64_t classes, int64_t stride, double& m, double& lse) {
    m = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) {
        double v = double(x[c * stride]);
        m = (v > m || v != v) ? v : m;
    }
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(double(x[c * stride]) - m);
    lse = m + std::log(sum);
}

template <class T, bool Parallel>
void forward_rows(const SoftmaxShape& s, const void* xv, void* yv, bool log) {
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    const int64_t C = s.classes, st = s.inner;
    for_each_row<Parallel>(s, [&](int64_t, int64_t b) {
        double m, lse;
        row_stats(x + b, C, st, m, lse);
        for (int64_t c = 0; c < C; ++c) {
            double v = double(x[b + c * st]);
            y[b + c * st] = T(log ? v - lse : std::exp(v - lse));
        }
    });
}

template <class T, bool Parallel>
void backward_rows(const SoftmaxShape& s, const void* yv, const void* gyv, void* gxv, bool log) {
    const T* y = static_cast<const T*>(yv);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const int64_t C = s.classes, st = s.inner;
    for_each_row<Parallel>(s, [&](int64_t, int64_t b) {
        double acc = 0;  // log: sum gy; softmax: sum gy*y
        for (int64_t c = 0; c < C; ++c) acc += double(gy[b + c * st]) * (log ? 1.0 : double(y[b + c * st]));
        for (int64_t c = 0; c < C; ++c) {
            double yv_ = double(y[b + c * st]), g = double(gy[b + c * st]);
            gx[b + c * st] = T(log ? g - std::exp(yv_) * acc : yv_ * (g - acc));
        }
    });
}

template <class T, bool Parallel>
void xent_forward_rows(const SoftmaxShape& s, const void* xv, const int64_t* target, void* lossv, void* lsev) {
    const T* x = static_cast<const T*>(xv);
    T* loss = static_cast<T*>(lossv);
    T* lse_out = static_cast<T*>(lsev);
    const int64_t C = s.classes, st = s.inner;
    const int64_t bad = for_each_row<Parallel>(s, [&](int64_t r, int64_t b) -> int64_t {
        const int64_t t = target[r];
        double m, lse;
        row_stats(x + b, C, st, m, lse);
        lse_out[r] = T(lse);
        if (t < 0 || t >= C) {
            loss[r] = std::numeric_limits<T>::quiet_NaN();
            return 1;
        }
        loss[r] = T(lse - double(x[b + t * st]));
        return 0;
    });
    cpu::check_cross_entropy_targets(bad, s);
}

template <class T, bool Parallel>
void xent_backward_rows(const SoftmaxShape& s, const void* xv, const int64_t* target, const void* lsev,
                        const void* gv, int64_t grad_stride, double scale, void* gxv) {
    const T* x = static_cast<const T*>(xv);
    const T* lse = static_cast<const T*>(lsev);
    const T* grad = static_cast<const T*>(gv);
    T* gx = static_cast<T*>(gxv);
    const int64_t C = s.classes, st = s.inner;
    const int64_t bad = for_each_row<Parallel>(s, [&](int64_t r, int64_t b) -> int64_t {
        const int64_t t = target[r];
        const double g = double(grad[r * grad_stride]) * scale, l = double(lse[r]);
        for (int64_t c = 0; c < C; ++c)
            gx[b + c * st] = T((std::exp(double(x[b + c * st]) - l) - (c == t ? 1.0 : 0.0)) * g);
        return t < 0 || t >= C ? 1 : 0;
    });
    cpu::check_cross_entropy_targets(bad, s);
}

template <class T>
void add_portable(DType dt) {
    constexpr auto kCpu = Device::CPU;
    softmax_forward_table().add("reference", kCpu, dt, &forward_rows<T, false>, 0, "serial rows, double accumulation");
    softmax_forward_table().add("omp", kCpu, dt, &forward_rows<T, true>, 10, "reference rows across OpenMP threads");
    softmax_backward_table().add("reference", kCpu, dt, &backward_rows<T, false>, 0,
                                 "serial rows, double accumulation");
    softmax_backward_table().add("omp", kCpu, dt, &backward_rows<T, true>, 10, "reference rows across OpenMP threads");
    cross_entropy_forward_table().add("reference", kCpu, dt, &xent_forward_rows<T, false>, 0,
                                      "serial rows, double accumulation");
    cross_entropy_forward_table().add("omp", kCpu, dt, &xent_forward_rows<T, true>, 10,
                                      "reference rows across OpenMP threads");
    cross_entropy_backward_table().add("reference", kCpu, dt, &xent_backward_rows<T, false>, 0,
                                       "serial rows, double accumulation");
    cross_entropy_backward_table().add("omp", kCpu, dt, &xent_backward_rows<T, true>, 10,
                                       "reference rows across OpenMP threads");
}

}  // namespace

void register_cpu_softmax() {
    add_portable<float>(DType::Float32);
    add_portable<double>(DType::Float64);
    for (const cpu::IsaKernels* isa : cpu::cpu_isas()) {
        const std::string doc =
            fmt::format("{} float / {} double lanes, vector exp, rows across threads", isa->lanes_f32, isa->lanes_f32 / 2);
        const int priority = isa->lanes_f32 == 16 ? 20 : 15;
        for (DType dt : {DType::Float32, DType::Float64}) {
            const cpu::IsaDTypeKernels& k = isa->of(dt);
            softmax_forward_table().add(isa->name, Device::CPU, dt, k.softmax_forward, priority, doc);
            softmax_backward_table().add(isa->name, Device::CPU, dt, k.softmax_backward, priority, doc);
            cross_entropy_forward_table().add(isa->name, Device::CPU, dt, k.cross_entropy_forward, priority, doc);
            cross_entropy_backward_table().add(isa->name, Device::CPU, dt, k.cross_entropy_backward, priority, doc);
        }
    }
}

}  // namespace mg::kernels
