// The "avx2" and "avx512" fused LSTM cell (kernels/lstm.h), float32: what changes from "omp"
// (lstm.cpp). Include only from an isa_*.cpp file.
//
// The same formulas (ew::LstmCell) on simd::Vec lanes: L units of a row at once, the sigmoids
// and tanh as simd.h's vector exp and tanh (about 1 ulp) instead of libm's scalar calls, which
// are most of the cell's time; a row's last partial vector is one masked load/store. Rows are
// split across OpenMP threads above kLstmParallelMin units. Each unit depends on its own inputs
// only, so the result does not depend on the thread count.
#pragma once

#include <cstdint>

#include "kernels/cpu/simd_vec.h"
#include "kernels/lstm.h"

namespace mg::kernels::simd {
namespace {

constexpr int64_t kLstmParallelMin = 1 << 14;

// f(j, k) for each vector of a row of H units: j its first unit, k its length (L, or the tail).
template <class S, class F> inline void for_each_vector(int64_t H, F&& f) {
    int64_t j = 0;
    for (; j + S::L <= H; j += S::L) f(j, S::L);
    if (j < H) f(j, H - j);
}

template <class S> inline typename S::V load_n(const typename S::T* p, int64_t k) {
    return k == S::L ? S::load(p) : S::load_part(p, k, typename S::T(0));
}
template <class S> inline void store_n(typename S::T* p, typename S::V v, int64_t k) {
    if (k == S::L) S::store(p, v);
    else S::store_part(p, v, k);
}

template <class S> void lstm_cell_forward(const LstmCellShape& s, const void* gates, const void* c_prev, void* out) {
    using T = typename S::T;
    const LstmCellForwardOperands<T> a(s, gates, c_prev, out);
    const int64_t H = s.hidden;
#pragma omp parallel for schedule(static) if (s.n * H >= kLstmParallelMin)
    for (int64_t r = 0; r < s.n; ++r) {
        const T* g = a.gates + r * 4 * H;
        for_each_vector<S>(H, [&](int64_t j, int64_t k) {
            const int64_t u = r * H + j;
            Vec<S> h, c;
            ew::LstmCell::forward<Vec<S>>(load_n<S>(g + j, k), load_n<S>(g + H + j, k), load_n<S>(g + 2 * H + j, k),
                                          load_n<S>(g + 3 * H + j, k), load_n<S>(a.c_prev + u, k), h, c);
            store_n<S>(a.h + u, h.v, k);
            store_n<S>(a.c + u, c.v, k);
        });
    }
}

template <class S> void lstm_cell_backward(const LstmCellShape& s, const void* gates, const void* c_prev,
                                           const void* grad_out, void* grad_gates, void* grad_c_prev) {
    using T = typename S::T;
    const LstmCellBackwardOperands<T> a(s, gates, c_prev, grad_out, grad_gates, grad_c_prev);
    const int64_t H = s.hidden;
#pragma omp parallel for schedule(static) if (s.n * H >= kLstmParallelMin)
    for (int64_t r = 0; r < s.n; ++r) {
        const T* g = a.gates + r * 4 * H;
        T* dg = a.grad_gates + r * 4 * H;
        for_each_vector<S>(H, [&](int64_t j, int64_t k) {
            const int64_t u = r * H + j;
            Vec<S> d[4], d_c_prev;
            ew::LstmCell::backward<Vec<S>>(load_n<S>(g + j, k), load_n<S>(g + H + j, k), load_n<S>(g + 2 * H + j, k),
                                           load_n<S>(g + 3 * H + j, k), load_n<S>(a.c_prev + u, k),
                                           load_n<S>(a.grad_h + u, k), load_n<S>(a.grad_c + u, k), d, d_c_prev);
            for (int q = 0; q < 4; ++q) store_n<S>(dg + q * H + j, d[q].v, k);
            store_n<S>(a.grad_c_prev + u, d_c_prev.v, k);
        });
    }
}

}  // namespace
}  // namespace mg::kernels::simd
