// The "avx512" Adam/AdamW update (kernels/optim.h): what changes from "omp" (adam.cpp).
// Include only from an isa_*.cpp file.
//
// The whole update of L lanes runs in vector registers: one load and one store per array
// per vector, sqrt and divide on every lane at once (the divide and the square root are most
// of the arithmetic), a masked load/store for the last partial vector instead of a scalar
// tail. Tensors above kAdamParallelMin elements are split across OpenMP threads in whole
// vectors. The operations and their order are those of the reference, multiplies and adds
// kept apart (no FMA), and IEEE sqrt/div round correctly on every lane, so the result is
// bitwise the reference's.
//
// GCC contracts a multiply feeding an add into an FMA (-ffp-contract=fast is its default,
// intrinsics and vector operators included) once -mfma is on, which rounds once instead of
// twice and so differs from the reference in the last bit. The functions below turn that
// off (push_options / pop_options keep it from the rest of the including file).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/simd.h"
#include "kernels/optim.h"

#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")

namespace mg::kernels::simd {
namespace {

constexpr int64_t kAdamParallelMin = 1 << 15;

// The scalars of one step broadcast to vectors; see AdamScalars in adam.cpp.
template <class S> struct Consts {
    typename S::V decay_factor, weight_decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps,
        neg_step_size;
    bool decoupled, coupled_decay;

    explicit Consts(const AdamHyper& h) {
        using T = typename S::T;
        decay_factor = S::set1(T(1.0 - h.lr * h.weight_decay));
        weight_decay = S::set1(T(h.weight_decay));
        beta1 = S::set1(T(h.beta1));
        one_minus_beta1 = S::set1(T(1.0 - h.beta1));
        beta2 = S::set1(T(h.beta2));
        one_minus_beta2 = S::set1(T(1.0 - h.beta2));
        bc2_sqrt = S::set1(T(std::sqrt(1.0 - std::pow(h.beta2, double(h.step)))));
        eps = S::set1(T(h.eps));
        neg_step_size = S::set1(T(-h.lr / (1.0 - std::pow(h.beta1, double(h.step)))));
        decoupled = h.decoupled && h.weight_decay != 0.0;
        coupled_decay = !h.decoupled && h.weight_decay != 0.0;
    }
};

// One vector of the update: p, g, m, v (and vmax) in, new p, m, v (vmax) out.
template <class S, bool Amsgrad>
inline void adam_vector(typename S::V& p, typename S::V g, typename S::V& m, typename S::V& v, typename S::V& vmax,
                        const Consts<S>& c) {
    if (c.decoupled) p = S::mul(p, c.decay_factor);
    if (c.coupled_decay) g = S::add(g, S::mul(c.weight_decay, p));
    m = S::add(S::mul(m, c.beta1), S::mul(c.one_minus_beta1, g));
    v = S::add(S::mul(v, c.beta2), S::mul(S::mul(c.one_minus_beta2, g), g));
    typename S::V v_hat = v;
    if constexpr (Amsgrad) {
        vmax = S::max(vmax, v);
        v_hat = vmax;
    }
    typename S::V denom = S::add(S::div(S::sqrt(v_hat), c.bc2_sqrt), c.eps);
    p = S::add(p, S::div(S::mul(c.neg_step_size, m), denom));
}

template <class S, bool Amsgrad>
void adam_vectors(typename S::T* param, const typename S::T* grad, typename S::T* m, typename S::T* v,
                 typename S::T* vmax, int64_t n, const AdamHyper& h) {
    using V = typename S::V;
    const Consts<S> c(h);
    const int64_t full = n / S::L;
#pragma omp parallel for schedule(static) if (n >= kAdamParallelMin)
    for (int64_t b = 0; b < full; ++b) {
        const int64_t i = b * S::L;
        V p = S::load(param + i), mv = S::load(m + i), vv = S::load(v + i);
        V vm = vv;
        if constexpr (Amsgrad) vm = S::load(vmax + i);
        adam_vector<S, Amsgrad>(p, S::load(grad + i), mv, vv, vm, c);
        S::store(param + i, p);
        S::store(m + i, mv);
        S::store(v + i, vv);
        if constexpr (Amsgrad) S::store(vmax + i, vm);
    }
    const int64_t rest = n - full * S::L;
    if (rest > 0) {
        const int64_t i = full * S::L;
        const auto k = S::tail(rest);
        V p = S::load_masked(param + i, k), mv = S::load_masked(m + i, k), vv = S::load_masked(v + i, k);
        V vm = vv;
        if constexpr (Amsgrad) vm = S::load_masked(vmax + i, k);
        adam_vector<S, Amsgrad>(p, S::load_masked(grad + i, k), mv, vv, vm, c);
        S::store_masked(param + i, k, p);
        S::store_masked(m + i, k, mv);
        S::store_masked(v + i, k, vv);
        if constexpr (Amsgrad) S::store_masked(vmax + i, k, vm);
    }
}

// The table's entry (AdamUpdateFn in kernels/optim.h).
template <class S>
void adam_update(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int64_t n,
                 const AdamHyper& h) {
    using T = typename S::T;
    T* p = static_cast<T*>(param);
    const T* g = static_cast<const T*>(grad);
    T* m = static_cast<T*>(exp_avg);
    T* v = static_cast<T*>(exp_avg_sq);
    T* vmax = static_cast<T*>(max_exp_avg_sq);
    if (vmax) adam_vectors<S, true>(p, g, m, v, vmax, n, h);
    else adam_vectors<S, false>(p, g, m, v, vmax, n, h);
}

}  // namespace
}  // namespace mg::kernels::simd

#pragma GCC pop_options
