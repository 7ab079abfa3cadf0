// The "avx2" and "avx512" dense loops of the elementwise ops and of the sum reduction, one
// template over the vector traits of kernels/cpu/simd.h; isa_avx512.cpp and
// isa_avx2.cpp instantiate them (MG_ELEMENTWISE_DENSE_LOOPS). elementwise.cpp /
// reduce.cpp register them and send strided operands to the "omp" code. What changes from "omp":
//   - the op's functor (kernels/elementwise_ops.h) runs on simd::Vec lanes: exp, tanh, log1p
//     are polynomials (about 1 ulp in float32) instead of libm, which GCC cannot vectorise,
//     so L lanes per step instead of one element; selects are compare masks (the "omp"
//     loop's conditional multiply of leaky_relu does not vectorise: see elementwise.cpp);
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

#include <type_traits>

#include "kernels/cpu/elementwise_dense.h"
#include "kernels/cpu/simd_vec.h"

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

    // y = Op(x; s), Op a functor of kernels/elementwise_ops.h.
    template <class Op> static void unary(int64_t n, void* y, const void* x, Scalars s) {
        const ew::Params<Vec<S>> p{T(s.a), T(s.b)};
        map(n, static_cast<T*>(y), static_cast<const T*>(x), parallel_min<Op>(),
            [&](V v) { return Op{}(Vec<S>(v), p).v; });
    }
    // y = Op(a, b; s)
    template <class Op> static void binary_scalar(int64_t n, void* y, const void* a, const void* b, Scalars s) {
        const ew::Params<Vec<S>> p{T(s.a), T(s.b)};
        map2(n, static_cast<T*>(y), static_cast<const T*>(a), static_cast<const T*>(b), parallel_min<Op>(),
             [&](V va, V vb) { return Op{}(Vec<S>(va), Vec<S>(vb), p).v; });
    }
    template <class Op> static constexpr int64_t parallel_min() {
        return ew::op_info<Op>.cost == ew::Cost::cheap ? kCheapParallelMin : kMathParallelMin;
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

template <class T> using Lanes = Dense<std::conditional_t<sizeof(T) == 4, F32, F64>>;

}  // namespace
}  // namespace mg::kernels::simd

// In elementwise_<isa>.cpp: DenseLoops<isa> on this file's lanes, instantiated for every op
// whose list entry has a vector form.
#define MG_EW_INSTANTIATE_UNARY(name, Op, cost, simd, ...) MG_EW_SIMD_TYPES_##simd(MG_EW_INSTANTIATE_UNARY_T, Op)
#define MG_EW_INSTANTIATE_UNARY_T(Op, T) template void ThisIsa::unary<ew::Op, T>(int64_t, void*, const void*, Scalars);
#define MG_EW_INSTANTIATE_BINARY_SCALAR(name, Op, cost, simd, ...) \
    MG_EW_SIMD_TYPES_##simd(MG_EW_INSTANTIATE_BINARY_SCALAR_T, Op)
#define MG_EW_INSTANTIATE_BINARY_SCALAR_T(Op, T) \
    template void ThisIsa::binary_scalar<ew::Op, T>(int64_t, void*, const void*, const void*, Scalars);
#define MG_ELEMENTWISE_DENSE_LOOPS(isa)                                                                    \
    using ThisIsa = DenseLoops<isa>;                                                                       \
    template <> template <class Op, class T>                                                              \
    void ThisIsa::unary(int64_t n, void* y, const void* x, Scalars s) {                                    \
        simd::Lanes<T>::template unary<Op>(n, y, x, s);                                                    \
    }                                                                                                      \
    template <> template <class Op, class T>                                                              \
    void ThisIsa::binary_scalar(int64_t n, void* y, const void* a, const void* b, Scalars s) {             \
        simd::Lanes<T>::template binary_scalar<Op>(n, y, a, b, s);                                         \
    }                                                                                                      \
    MG_UNARY_OPS(MG_EW_INSTANTIATE_UNARY)                                                                  \
    MG_BINARY_SCALAR_OPS(MG_EW_INSTANTIATE_BINARY_SCALAR)

// In isa_<isa>.cpp, at file scope: the dense elementwise loops of the ops with a vector form
// (kernels/elementwise_ops.h's simd column) and the sum of contiguous runs (run_sum.h), which
// elementwise.cpp and reduce.cpp register; `isa` is avx2 or avx512.
#define MG_DENSE_KERNELS_FOR(isa)                                                               \
    namespace mg::kernels {                                                                     \
    MG_ELEMENTWISE_DENSE_LOOPS(Isa::isa)                                                        \
    double sum_runs_##isa##_f32(const void* x, int64_t n, int64_t runs, int64_t stride) {      \
        return simd::Lanes<float>::sum_runs(x, n, runs, stride);                                \
    }                                                                                           \
    double sum_runs_##isa##_f64(const void* x, int64_t n, int64_t runs, int64_t stride) {      \
        return simd::Lanes<double>::sum_runs(x, n, runs, stride);                               \
    }                                                                                           \
    }
