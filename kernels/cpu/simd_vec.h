// Vec<S>: the lanes of simd.h's traits S (F32, F64) behind operators and the math vocabulary
// of kernels/elementwise_ops.h, so that one functor, `select(x < T(0), e, T(1)) / (T(1) + e)`,
// runs on a scalar, on the device and on a vector. Each operation is one trait call; the
// wrapper adds no instructions. Comparisons give a Mask<S> for select().
//
// The vector math: exp (all lanes) and tanh (float) are simd.h's; log1p (float) is below.
// Include only from a *_avx512.cpp or *_avx2.cpp file, as simd.h.
#pragma once

#include "kernels/cpu/simd.h"

namespace mg::kernels::simd {
namespace {

// (m, k) with x = m 2^k, m in [1, 2), float lanes; x positive and normal.
#if defined(__AVX512F__) && defined(__AVX512DQ__)
inline void split_exponent(__m512 x, __m512& m, __m512& k) {
    k = _mm512_mask_getexp_ps(x, F32::kAll, x);
    m = _mm512_mask_getmant_ps(x, F32::kAll, x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
}
#else
inline void split_exponent(__m256 x, __m256& m, __m256& k) {
    const __m256i bits = _mm256_castps_si256(x);
    k = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
    m = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F800000)));
}
#endif

// ln(1 + x), float lanes, for x in (-1, inf) finite (NaN gives NaN). u = 1 + x (rounded) =
// m 2^k with m in [√½, √2]; log m by Cephes logf (f = m - 1, exact by Sterbenz), plus
// (x - (u - 1)) / u, the first-order correction for the rounding of u, which keeps tiny x
// exact (u = 1 there, and the result is x).
template <class S> inline typename S::V log1p(typename S::V x) {
    using V = typename S::V;
    static_assert(sizeof(typename S::T) == 4, "simd::log1p: float lanes only");
    const V one = S::set1(1.0f);
    V u = S::add(one, x);
    V c = S::div(S::sub(x, S::sub(u, one)), u);
    V m, k;
    split_exponent(u, m, k);
    auto big = S::gt(m, S::set1(1.41421356237f));
    m = S::select(big, S::mul(m, S::set1(0.5f)), m);
    k = S::select(big, S::add(k, one), k);
    V f = S::sub(m, one);
    V z = S::mul(f, f);
    V p = S::set1(7.0376836292e-2f);
    p = S::fmadd(p, f, S::set1(-1.1514610310e-1f));
    p = S::fmadd(p, f, S::set1(1.1676998740e-1f));
    p = S::fmadd(p, f, S::set1(-1.2420140846e-1f));
    p = S::fmadd(p, f, S::set1(1.4249322787e-1f));
    p = S::fmadd(p, f, S::set1(-1.6668057665e-1f));
    p = S::fmadd(p, f, S::set1(2.0000714765e-1f));
    p = S::fmadd(p, f, S::set1(-2.4999993993e-1f));
    p = S::fmadd(p, f, S::set1(3.3333331174e-1f));
    V y = S::mul(S::mul(p, z), f);                 // f^3 P(f)
    y = S::fmadd(k, S::set1(-2.12194440e-4f), y);  // + k ln2 (low part)
    y = S::fnmadd(S::set1(0.5f), z, y);            // - f^2 / 2
    V l = S::add(f, S::add(y, c));
    return S::fmadd(k, S::set1(0.693359375f), l);  // + k ln2 (high part)
}

template <class S> struct Mask {
    typename S::M m;
};

template <class S> struct Vec {
    using T = typename S::T;
    typename S::V v;

    Vec() = default;
    Vec(typename S::V x) : v(x) {}
    Vec(T x) : v(S::set1(x)) {}  // a constant in every lane: T(1), p.a

    friend Vec operator+(Vec a, Vec b) { return S::add(a.v, b.v); }
    friend Vec operator-(Vec a, Vec b) { return S::sub(a.v, b.v); }
    friend Vec operator*(Vec a, Vec b) { return S::mul(a.v, b.v); }
    friend Vec operator/(Vec a, Vec b) { return S::div(a.v, b.v); }
    friend Vec operator-(Vec a) { return S::neg(a.v); }
    friend Mask<S> operator<(Vec a, Vec b) { return {S::lt(a.v, b.v)}; }
    friend Mask<S> operator>(Vec a, Vec b) { return {S::gt(a.v, b.v)}; }
    friend Vec select(Mask<S> m, Vec a, Vec b) { return S::select(m.m, a.v, b.v); }  // m ? a : b
    friend Vec abs(Vec a) { return S::abs(a.v); }
    // The instructions' rule: a NaN in either operand gives b (see simd.h).
    friend Vec max(Vec a, Vec b) { return S::max(a.v, b.v); }
    friend Vec min(Vec a, Vec b) { return S::min(a.v, b.v); }
    friend Vec exp(Vec a) { return simd::exp<S>(a.v); }
    friend Vec tanh(Vec a) { return simd::tanh<S>(a.v); }
    friend Vec log1p(Vec a) { return simd::log1p<S>(a.v); }
};

}  // namespace
}  // namespace mg::kernels::simd
