// The "avx2" and "avx512" dense loops of some elementwise ops and of the sum reduction,
// one template over the vector traits of kernels/cpu/simd.h; elementwise_avx512.cpp and
// elementwise_avx2.cpp instantiate them. elementwise.cpp / reduce.cpp register them and
// send strided operands to the "omp" code. What changes from "omp":
//   - exp, sigmoid, tanh use simd::exp (about 1 ulp in float32) instead of libm, which GCC
//     cannot vectorise: L lanes per step instead of one element;
//   - leaky_relu and its backward select between x and slope*x with a compare mask (the
//     "omp" loop's conditional multiply does not vectorise: see elementwise.cpp);
//   - the tail is one masked vector, not a scalar loop;
//   - threads only above a per-op size: the cheap ops (a compare and a multiply) need
//     kCheapParallelMin elements before a second thread pays for its start-up, the
//     transcendental ones kMathParallelMin.
// sum_runs: the sum of `runs` contiguous runs of n values, `stride` apart, in double lanes:
// four independent accumulators kept across the runs and combined once at the end, in a
// fixed order (the result depends only on the runs, not on threads). Keeping them across
// runs is what makes a conv bias gradient ([N, C, 7, 7] -> [C], runs of 49) cheap: one
// horizontal sum per output instead of one per image.
#pragma once

#include "kernels/cpu/simd.h"
#include "kernels/elementwise.h"

namespace mg::kernels::simd {
namespace {

constexpr int64_t kCheapParallelMin = 1 << 17;
constexpr int64_t kMathParallelMin = 1 << 15;

template <class S> struct Dense {
    using T = typename S::T;
    using V = typename S::V;
    static constexpr int64_t L = S::L;

    // y[i] = f(x[i]) for i < n.
    template <class F> static void map(int64_t n, T* y, const T* x, int64_t parallel_min, F f) {
        const int64_t full = n / L * L;
#pragma omp parallel for schedule(static) if (n >= parallel_min)
        for (int64_t i = 0; i < full; i += L) S::store(y + i, f(S::load(x + i)));
        if (full < n) S::store_part(y + full, f(S::load_part(x + full, n - full, T(0))), n - full);
    }
    // y[i] = f(a[i], b[i]) for i < n.
    template <class F> static void map2(int64_t n, T* y, const T* a, const T* b, int64_t parallel_min, F f) {
        const int64_t full = n / L * L;
#pragma omp parallel for schedule(static) if (n >= parallel_min)
        for (int64_t i = 0; i < full; i += L) S::store(y + i, f(S::load(a + i), S::load(b + i)));
        if (full < n)
            S::store_part(y + full, f(S::load_part(a + full, n - full, T(0)), S::load_part(b + full, n - full, T(0))),
                          n - full);
    }

    static void exp(int64_t n, void* y, const void* x, Scalars) {
        map(n, static_cast<T*>(y), static_cast<const T*>(x), kMathParallelMin, [](V v) { return simd::exp<S>(v); });
    }
    static void sigmoid(int64_t n, void* y, const void* x, Scalars) {
        map(n, static_cast<T*>(y), static_cast<const T*>(x), kMathParallelMin, [](V v) { return simd::sigmoid<S>(v); });
    }
    static void softplus(int64_t n, void* y, const void* x, Scalars) {
        map(n, static_cast<T*>(y), static_cast<const T*>(x), kMathParallelMin, [](V v) { return simd::softplus<S>(v); });
    }
    static void tanh(int64_t n, void* y, const void* x, Scalars) {
        map(n, static_cast<T*>(y), static_cast<const T*>(x), kMathParallelMin, [](V v) { return simd::tanh<S>(v); });
    }
    // x > 0 ? x : slope x  (a NaN x gives slope * NaN = NaN, as the reference)
    static void leaky_relu(int64_t n, void* y, const void* x, Scalars s) {
        const V slope = S::set1(T(s.a)), zero = S::zero();
        map(n, static_cast<T*>(y), static_cast<const T*>(x), kCheapParallelMin,
            [&](V v) { return S::select(S::gt(v, zero), v, S::mul(v, slope)); });
    }
    // gx = x > 0 ? g : slope g  (a = x or, for relu, the output y; b = g)
    static void leaky_relu_backward(int64_t n, void* gx, const void* x, const void* g, Scalars s) {
        const V slope = S::set1(T(s.a)), zero = S::zero();
        map2(n, static_cast<T*>(gx), static_cast<const T*>(x), static_cast<const T*>(g), kCheapParallelMin,
             [&](V xv, V gv) { return S::select(S::gt(xv, zero), gv, S::mul(gv, slope)); });
    }

    // sum of x[0..n) in double, fixed order: four accumulators over blocks of 4 vectors,
    // then the tail, then (a + b) + (c + d).
    static double sum_runs(const void* xv, int64_t n, int64_t runs, int64_t stride) {
        const T* first = static_cast<const T*>(xv);
        using D = F64;
        typename D::V a = D::zero(), b = D::zero(), c = D::zero(), d = D::zero();
        auto add = [&](V v, typename D::V& lo, typename D::V& hi) {
            if constexpr (sizeof(T) == 4) {
                typename D::V wl, wh;
                S::widen(v, wl, wh);
                lo = D::add(lo, wl);
                hi = D::add(hi, wh);
            } else {
                lo = D::add(lo, v);
            }
        };
        for (int64_t r = 0; r < runs; ++r) {
            const T* x = first + r * stride;
            int64_t i = 0;
            if constexpr (sizeof(T) == 4) {
                for (; i + 2 * L <= n; i += 2 * L) {
                    add(S::load(x + i), a, b);
                    add(S::load(x + i + L), c, d);
                }
            } else {
                for (; i + 4 * L <= n; i += 4 * L) {
                    a = D::add(a, S::load(x + i));
                    b = D::add(b, S::load(x + i + L));
                    c = D::add(c, S::load(x + i + 2 * L));
                    d = D::add(d, S::load(x + i + 3 * L));
                }
            }
            for (; i < n; i += L) {
                const int64_t k = n - i < L ? n - i : L;
                add(k == L ? S::load(x + i) : S::load_part(x + i, k, T(0)), a, b);
            }
        }
        return D::reduce_add(D::add(D::add(a, b), D::add(c, d)));
    }
};

}  // namespace
}  // namespace mg::kernels::simd
