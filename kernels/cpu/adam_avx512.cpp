// "avx512" Adam/AdamW update: what changes from "omp" (kernels/cpu/adam.cpp).
//
// The whole update of 16 floats (8 doubles) runs in zmm registers: one load and one
// store per array per vector, sqrt and divide on 16 lanes at once (the divide and the
// square root are most of the arithmetic), a masked load/store for the last partial
// vector instead of a scalar tail. Tensors above kParallelMin elements are split
// across OpenMP threads in whole vectors. The operations and their order are those of
// the reference, multiplies and adds kept apart (no FMA), and IEEE sqrt/div round
// correctly on every lane, so the result is bitwise the reference's.
//
// Compiled with -mavx512*: everything here has internal linkage and calls no inline
// library template, so no AVX-512 code can stand in for another file's copy.
//
// GCC contracts a multiply feeding an add into an FMA (-ffp-contract=fast is its
// default, intrinsics included) once -mfma is on, which rounds once instead of twice
// and so differs from the reference in the last bit. This file turns that off.
#pragma GCC optimize("fp-contract=off")

#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/optim.h"

namespace mg::kernels {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

struct F32 {
    using T = float;
    using V = __m512;
    using Mask = __mmask16;
    static constexpr int64_t L = 16;
    static V set1(T x) { return _mm512_set1_ps(x); }
    static V load(const T* p) { return _mm512_loadu_ps(p); }
    static void store(T* p, V x) { _mm512_storeu_ps(p, x); }
    static Mask tail(int64_t k) { return Mask((1u << k) - 1u); }
    static V load(const T* p, Mask k) { return _mm512_maskz_loadu_ps(k, p); }
    static void store(T* p, V x, Mask k) { _mm512_mask_storeu_ps(p, k, x); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V div(V a, V b) { return _mm512_div_ps(a, b); }
    // The all-lanes masked forms spell the same instructions; the plain ones pass an
    // "undefined" vector that GCC 12 reports as maybe-uninitialized.
    static V sqrt(V a) { return _mm512_mask_sqrt_ps(a, Mask(0xFFFF), a); }
    static V max(V a, V b) { return _mm512_mask_max_ps(a, Mask(0xFFFF), a, b); }  // a > b ? a : b, as the reference
};

struct F64 {
    using T = double;
    using V = __m512d;
    using Mask = __mmask8;
    static constexpr int64_t L = 8;
    static V set1(T x) { return _mm512_set1_pd(x); }
    static V load(const T* p) { return _mm512_loadu_pd(p); }
    static void store(T* p, V x) { _mm512_storeu_pd(p, x); }
    static Mask tail(int64_t k) { return Mask((1u << k) - 1u); }
    static V load(const T* p, Mask k) { return _mm512_maskz_loadu_pd(k, p); }
    static void store(T* p, V x, Mask k) { _mm512_mask_storeu_pd(p, k, x); }
    static V add(V a, V b) { return _mm512_add_pd(a, b); }
    static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    static V div(V a, V b) { return _mm512_div_pd(a, b); }
    static V sqrt(V a) { return _mm512_mask_sqrt_pd(a, Mask(0xFF), a); }
    static V max(V a, V b) { return _mm512_mask_max_pd(a, Mask(0xFF), a, b); }
};

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
void adam_avx512(typename S::T* param, const typename S::T* grad, typename S::T* m, typename S::T* v,
                 typename S::T* vmax, int64_t n, const AdamHyper& h) {
    using V = typename S::V;
    const Consts<S> c(h);
    const int64_t full = n / S::L;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
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
        const typename S::Mask k = S::tail(rest);
        V p = S::load(param + i, k), mv = S::load(m + i, k), vv = S::load(v + i, k);
        V vm = vv;
        if constexpr (Amsgrad) vm = S::load(vmax + i, k);
        adam_vector<S, Amsgrad>(p, S::load(grad + i, k), mv, vv, vm, c);
        S::store(param + i, p, k);
        S::store(m + i, mv, k);
        S::store(v + i, vv, k);
        if constexpr (Amsgrad) S::store(vmax + i, vm, k);
    }
}

template <class S>
void adam_dispatch(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int64_t n,
                   const AdamHyper& h) {
    using T = typename S::T;
    T* p = static_cast<T*>(param);
    const T* g = static_cast<const T*>(grad);
    T* m = static_cast<T*>(exp_avg);
    T* v = static_cast<T*>(exp_avg_sq);
    T* vmax = static_cast<T*>(max_exp_avg_sq);
    if (vmax) adam_avx512<S, true>(p, g, m, v, vmax, n, h);
    else adam_avx512<S, false>(p, g, m, v, vmax, n, h);
}

}  // namespace

void adam_update_avx512_f32(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                            int64_t n, const AdamHyper& h) {
    adam_dispatch<F32>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, h);
}
void adam_update_avx512_f64(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                            int64_t n, const AdamHyper& h) {
    adam_dispatch<F64>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, h);
}

}  // namespace mg::kernels
