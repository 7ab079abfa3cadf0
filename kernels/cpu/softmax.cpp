// CPU softmax, log-softmax and softmax cross-entropy kernels (kernels/softmax.h).
//
//   "reference": one row at a time, serial; max, then sum of e^(x - max) in double with
//                libm's exp, then the outputs. The ground truth for the other variants.
//   "omp":       the same row code, rows split across OpenMP threads above kParallelMin
//                elements (for CPUs without AVX2).
//   "avx2", "avx512": kernels/cpu/softmax_simd.h (vector exp, rows or blocks of rows in
//                vector lanes, threads); registered when the CPU has the instructions.
// The vector files return the count of out-of-range targets instead of throwing, so
// that the error is formatted here, in code compiled for the baseline instruction set.
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_features.h"
#include "kernels/softmax.h"

namespace mg::kernels {

#if defined(__x86_64__)
#define MG_DECLARE_SOFTMAX_ISA(isa)                                                                                 \
    void softmax_forward_##isa##_f32(const SoftmaxShape&, const void*, void*, bool);                                \
    void softmax_forward_##isa##_f64(const SoftmaxShape&, const void*, void*, bool);                                \
    void softmax_backward_##isa##_f32(const SoftmaxShape&, const void*, const void*, void*, bool);                  \
    void softmax_backward_##isa##_f64(const SoftmaxShape&, const void*, const void*, void*, bool);                  \
    int64_t cross_entropy_forward_##isa##_f32(const SoftmaxShape&, const void*, const int64_t*, void*, void*);      \
    int64_t cross_entropy_forward_##isa##_f64(const SoftmaxShape&, const void*, const int64_t*, void*, void*);      \
    int64_t cross_entropy_backward_##isa##_f32(const SoftmaxShape&, const void*, const int64_t*, const void*,       \
                                               const void*, int64_t, double, void*);                                \
    int64_t cross_entropy_backward_##isa##_f64(const SoftmaxShape&, const void*, const int64_t*, const void*,       \
                                               const void*, int64_t, double, void*);
MG_DECLARE_SOFTMAX_ISA(avx512)  // softmax_avx512.cpp
MG_DECLARE_SOFTMAX_ISA(avx2)    // softmax_avx2.cpp
#undef MG_DECLARE_SOFTMAX_ISA
#endif

namespace {

constexpr int64_t kParallelMin = 1 << 15;

using CountedForward = int64_t(const SoftmaxShape&, const void*, const int64_t*, void*, void*);
using CountedBackward = int64_t(const SoftmaxShape&, const void*, const int64_t*, const void*, const void*, int64_t,
                                double, void*);

void check_targets(int64_t bad, const SoftmaxShape& s) {
    MG_CHECK(bad == 0, "cross_entropy: {} of {} targets out of range [0, {})", bad, s.rows(), s.classes);
}

// Row r of [outer, classes, inner]: element c is at base + c * inner.
inline int64_t row_base(const SoftmaxShape& s, int64_t r) {
    return (r / s.inner) * s.classes * s.inner + r % s.inner;
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
#pragma omp parallel for schedule(static) if (Parallel && s.rows() * C >= kParallelMin)
    for (int64_t r = 0; r < s.rows(); ++r) {
        const int64_t b = row_base(s, r);
        double m, lse;
        row_stats(x + b, C, st, m, lse);
        for (int64_t c = 0; c < C; ++c) {
            double v = double(x[b + c * st]);
            y[b + c * st] = T(log ? v - lse : std::exp(v - lse));
        }
    }
}

template <class T, bool Parallel>
void backward_rows(const SoftmaxShape& s, const void* yv, const void* gyv, void* gxv, bool log) {
    const T* y = static_cast<const T*>(yv);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const int64_t C = s.classes, st = s.inner;
#pragma omp parallel for schedule(static) if (Parallel && s.rows() * C >= kParallelMin)
    for (int64_t r = 0; r < s.rows(); ++r) {
        const int64_t b = row_base(s, r);
        double acc = 0;  // log: sum gy; softmax: sum gy*y
        for (int64_t c = 0; c < C; ++c) acc += double(gy[b + c * st]) * (log ? 1.0 : double(y[b + c * st]));
        for (int64_t c = 0; c < C; ++c) {
            double yv_ = double(y[b + c * st]), g = double(gy[b + c * st]);
            gx[b + c * st] = T(log ? g - std::exp(yv_) * acc : yv_ * (g - acc));
        }
    }
}

template <class T, bool Parallel>
void xent_forward_rows(const SoftmaxShape& s, const void* xv, const int64_t* target, void* lossv, void* lsev) {
    const T* x = static_cast<const T*>(xv);
    T* loss = static_cast<T*>(lossv);
    T* lse_out = static_cast<T*>(lsev);
    const int64_t C = s.classes, st = s.inner;
    int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (Parallel && s.rows() * C >= kParallelMin)
    for (int64_t r = 0; r < s.rows(); ++r) {
        const int64_t b = row_base(s, r), t = target[r];
        double m, lse;
        row_stats(x + b, C, st, m, lse);
        lse_out[r] = T(lse);
        if (t < 0 || t >= C) {
            loss[r] = std::numeric_limits<T>::quiet_NaN();
            ++bad;
        } else {
            loss[r] = T(lse - double(x[b + t * st]));
        }
    }
    check_targets(bad, s);
}

template <class T, bool Parallel>
void xent_backward_rows(const SoftmaxShape& s, const void* xv, const int64_t* target, const void* lsev,
                        const void* gv, int64_t grad_stride, double scale, void* gxv) {
    const T* x = static_cast<const T*>(xv);
    const T* lse = static_cast<const T*>(lsev);
    const T* grad = static_cast<const T*>(gv);
    T* gx = static_cast<T*>(gxv);
    const int64_t C = s.classes, st = s.inner;
    int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (Parallel && s.rows() * C >= kParallelMin)
    for (int64_t r = 0; r < s.rows(); ++r) {
        const int64_t b = row_base(s, r), t = target[r];
        const double g = double(grad[r * grad_stride]) * scale, l = double(lse[r]);
        if (t < 0 || t >= C) ++bad;
        for (int64_t c = 0; c < C; ++c)
            gx[b + c * st] = T((std::exp(double(x[b + c * st]) - l) - (c == t ? 1.0 : 0.0)) * g);
    }
    check_targets(bad, s);
}

#if defined(__x86_64__)
template <CountedForward* F>
void checked_forward(const SoftmaxShape& s, const void* x, const int64_t* t, void* loss, void* lse) {
    check_targets(F(s, x, t, loss, lse), s);
}
template <CountedBackward* F>
void checked_backward(const SoftmaxShape& s, const void* x, const int64_t* t, const void* lse, const void* g,
                      int64_t gs, double scale, void* gx) {
    check_targets(F(s, x, t, lse, g, gs, scale, gx), s);
}
#endif

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
#if defined(__x86_64__)
    constexpr auto kCpu = Device::CPU;
    constexpr auto f32 = DType::Float32;
    constexpr auto f64 = DType::Float64;
#define MG_REGISTER_SOFTMAX_ISA(isa, priority, doc)                                                                  \
    softmax_forward_table().add(#isa, kCpu, f32, &softmax_forward_##isa##_f32, priority, doc);                       \
    softmax_forward_table().add(#isa, kCpu, f64, &softmax_forward_##isa##_f64, priority, doc);                       \
    softmax_backward_table().add(#isa, kCpu, f32, &softmax_backward_##isa##_f32, priority, doc);                     \
    softmax_backward_table().add(#isa, kCpu, f64, &softmax_backward_##isa##_f64, priority, doc);                     \
    cross_entropy_forward_table().add(#isa, kCpu, f32, &checked_forward<&cross_entropy_forward_##isa##_f32>,         \
                                      priority, doc);                                                               \
    cross_entropy_forward_table().add(#isa, kCpu, f64, &checked_forward<&cross_entropy_forward_##isa##_f64>,         \
                                      priority, doc);                                                               \
    cross_entropy_backward_table().add(#isa, kCpu, f32, &checked_backward<&cross_entropy_backward_##isa##_f32>,      \
                                       priority, doc);                                                              \
    cross_entropy_backward_table().add(#isa, kCpu, f64, &checked_backward<&cross_entropy_backward_##isa##_f64>,      \
                                       priority, doc);
    if (cpu::has_avx2_fma()) {
        MG_REGISTER_SOFTMAX_ISA(avx2, 15, "8 float / 4 double lanes, vector exp, rows across threads")
    }
    if (cpu::has_avx512()) {
        MG_REGISTER_SOFTMAX_ISA(avx512, 20, "16 float / 8 double lanes, vector exp, rows across threads")
    }
#undef MG_REGISTER_SOFTMAX_ISA
#endif
}

}  // namespace mg::kernels
