// Vector traits for the *_avx512.cpp and *_avx2.cpp kernel files: one small set of
// operations (load, store, partial load/store of a tail, arithmetic, compare/select,
// horizontal reductions) over F32 and F64 lanes, so that one kernel template serves both
// instruction sets and both dtypes.
//
//            F32 lanes  F64 lanes  tails
//   AVX-512      16          8      mask registers
//   AVX2          8          4      maskload/maskstore with a lane-index compare
//
// Include only from a file compiled for that instruction set (the build gives *_avx512.cpp
// -mavx512f/bw/dq/vl and *_avx2.cpp -mavx2 -mfma): the compiler's flags pick the block.
// Everything here sits in an anonymous namespace, so each file has its own copy and no
// AVX-512 instance of an inline function can stand in for a caller's on another CPU.
//
// The AVX-512 operations use the all-lanes masked form of an intrinsic where the plain one
// passes an "undefined" vector that GCC 12 reports as maybe-uninitialized: the same
// instruction either way.
//
// min/max follow the instructions: when either operand is NaN the SECOND operand is
// returned, so min(set1(hi), x) passes a NaN x through (the exp clamp relies on it).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mg::kernels::simd {
namespace {

#if defined(__AVX512F__) && defined(__AVX512DQ__)

constexpr const char* kIsa = "avx512";

// The low 256 bits: a free register view (GCC 12's _mm512_cast*512_*256 goes through an
// extract from an "undefined" vector and draws the warning described above).
inline __m256d low_half(__m512d a) { return __builtin_shufflevector(a, a, 0, 1, 2, 3); }
inline __m256 low_half(__m512 a) { return __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7); }

struct F64 {
    using T = double;
    using V = __m512d;
    using M = __mmask8;
    static constexpr int64_t L = 8;
    static constexpr M kAll = 0xFF;
    static M tail(int64_t k) { return M((1u << k) - 1u); }
    static V zero() { return _mm512_setzero_pd(); }
    static V set1(T x) { return _mm512_set1_pd(x); }
    static V load(const T* p) { return _mm512_loadu_pd(p); }
    static void store(T* p, V x) { _mm512_storeu_pd(p, x); }
    // The first k lanes from p, the rest `fill`; k in [0, L].
    static V load_part(const T* p, int64_t k, T fill) { return _mm512_mask_loadu_pd(set1(fill), tail(k), p); }
    static void store_part(T* p, V x, int64_t k) { _mm512_mask_storeu_pd(p, tail(k), x); }
    static V add(V a, V b) { return _mm512_add_pd(a, b); }
    static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    static V div(V a, V b) { return _mm512_div_pd(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }    // a*b + c
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }  // c - a*b
    static V min(V a, V b) { return _mm512_mask_min_pd(a, kAll, a, b); }
    static V max(V a, V b) { return _mm512_mask_max_pd(a, kAll, a, b); }
    static V abs(V a) { return _mm512_abs_pd(a); }
    static V neg(V a) { return _mm512_xor_pd(a, set1(-0.0)); }
    static M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
    static M lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
    static V select(M m, V a, V b) { return _mm512_mask_blend_pd(m, b, a); }  // m ? a : b
    static V round(V a) { return _mm512_mask_roundscale_pd(a, kAll, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static V floor(V a) { return _mm512_mask_roundscale_pd(a, kAll, a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
    // p * 2^n for integer-valued n; vscalefpd rounds once, to a subnormal, zero or inf as needed.
    static V ldexp(V p, V n) { return _mm512_mask_scalef_pd(p, kAll, p, n); }
    static __m256d high(V a) { return _mm512_maskz_extractf64x4_pd(0xF, a, 1); }
    static T reduce_add(V a) {
        __m256d s4 = _mm256_add_pd(low_half(a), high(a));
        __m128d s = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    }
    static T reduce_max(V a) {
        __m256d s4 = _mm256_max_pd(low_half(a), high(a));
        __m128d s = _mm_max_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
        return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
    }
};

struct F32 {
    using T = float;
    using V = __m512;
    using M = __mmask16;
    using Wide = F64;  // the lanes a float vector widens into (two of them)
    static constexpr int64_t L = 16;
    static constexpr M kAll = 0xFFFF;
    static M tail(int64_t k) { return M((1u << k) - 1u); }
    static V zero() { return _mm512_setzero_ps(); }
    static V set1(T x) { return _mm512_set1_ps(x); }
    static V load(const T* p) { return _mm512_loadu_ps(p); }
    static void store(T* p, V x) { _mm512_storeu_ps(p, x); }
    static V load_part(const T* p, int64_t k, T fill) { return _mm512_mask_loadu_ps(set1(fill), tail(k), p); }
    static void store_part(T* p, V x, int64_t k) { _mm512_mask_storeu_ps(p, tail(k), x); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V div(V a, V b) { return _mm512_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    static V min(V a, V b) { return _mm512_mask_min_ps(a, kAll, a, b); }
    static V max(V a, V b) { return _mm512_mask_max_ps(a, kAll, a, b); }
    static V abs(V a) { return _mm512_abs_ps(a); }
    static V neg(V a) { return _mm512_xor_ps(a, set1(-0.0f)); }
    static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
    static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
    static V round(V a) { return _mm512_mask_roundscale_ps(a, kAll, a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static V floor(V a) { return _mm512_mask_roundscale_ps(a, kAll, a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
    static V ldexp(V p, V n) { return _mm512_mask_scalef_ps(p, kAll, p, n); }
    static __m256 high(V a) { return _mm512_maskz_extractf32x8_ps(0xFF, a, 1); }
    static T reduce_add(V a) {
        __m256 s8 = _mm256_add_ps(low_half(a), high(a));
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
    static T reduce_max(V a) {
        __m256 s8 = _mm256_max_ps(low_half(a), high(a));
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
    }
    // Lanes 0..7 and 8..15 as doubles.
    static void widen(V a, F64::V& lo, F64::V& hi) {
        lo = _mm512_maskz_cvtps_pd(0xFF, low_half(a));
        hi = _mm512_maskz_cvtps_pd(0xFF, high(a));
    }
};

#elif defined(__AVX2__) && defined(__FMA__)

constexpr const char* kIsa = "avx2";

struct F64 {
    using T = double;
    using V = __m256d;
    using M = __m256d;  // all-ones lanes where true
    static constexpr int64_t L = 4;
    static __m256i tail_bits(int64_t k) {
        return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3));
    }
    static V zero() { return _mm256_setzero_pd(); }
    static V set1(T x) { return _mm256_set1_pd(x); }
    static V load(const T* p) { return _mm256_loadu_pd(p); }
    static void store(T* p, V x) { _mm256_storeu_pd(p, x); }
    static V load_part(const T* p, int64_t k, T fill) {
        __m256i m = tail_bits(k);
        return _mm256_blendv_pd(set1(fill), _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m));
    }
    static void store_part(T* p, V x, int64_t k) { _mm256_maskstore_pd(p, tail_bits(k), x); }
    static V add(V a, V b) { return _mm256_add_pd(a, b); }
    static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
    static V div(V a, V b) { return _mm256_div_pd(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
    static V min(V a, V b) { return _mm256_min_pd(a, b); }
    static V max(V a, V b) { return _mm256_max_pd(a, b); }
    static V abs(V a) { return _mm256_andnot_pd(set1(-0.0), a); }
    static V neg(V a) { return _mm256_xor_pd(a, set1(-0.0)); }
    static M gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
    static M lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
    static V select(M m, V a, V b) { return _mm256_blendv_pd(b, a, m); }
    static V round(V a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static V floor(V a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
    // 2^k for integer-valued k in [-1022, 1023]: k + 1023 lands in the low bits of
    // 1.5*2^52 + k + 1023, and a shift by 52 moves it into the exponent field.
    static V pow2(V k) {
        __m256d t = _mm256_add_pd(k, set1(6755399441055744.0 + 1023.0));
        return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
    }
    // p * 2^n for integer-valued n in [-1077, 1025] (exp's clamped range): two factors,
    // each a normal power of two, so only the last multiply rounds.
    static V ldexp(V p, V n) {
        V n1 = floor(mul(n, set1(0.5)));
        return mul(mul(p, pow2(n1)), pow2(sub(n, n1)));
    }
    static T reduce_add(V a) {
        __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    }
    static T reduce_max(V a) {
        __m128d s = _mm_max_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
        return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
    }
};

struct F32 {
    using T = float;
    using V = __m256;
    using M = __m256;
    using Wide = F64;
    static constexpr int64_t L = 8;
    static __m256i tail_bits(int64_t k) {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static V zero() { return _mm256_setzero_ps(); }
    static V set1(T x) { return _mm256_set1_ps(x); }
    static V load(const T* p) { return _mm256_loadu_ps(p); }
    static void store(T* p, V x) { _mm256_storeu_ps(p, x); }
    static V load_part(const T* p, int64_t k, T fill) {
        __m256i m = tail_bits(k);
        return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
    }
    static void store_part(T* p, V x, int64_t k) { _mm256_maskstore_ps(p, tail_bits(k), x); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V abs(V a) { return _mm256_andnot_ps(set1(-0.0f), a); }
    static V neg(V a) { return _mm256_xor_ps(a, set1(-0.0f)); }
    static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
    static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
    static V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
    static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static V floor(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
    // 2^k for integer-valued k in [-126, 127], built in the exponent field.
    static V pow2(V k) {
        __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
    // p * 2^n for integer-valued n in [-150, 129] (exp's clamped range), as F64::ldexp.
    static V ldexp(V p, V n) {
        V n1 = floor(mul(n, set1(0.5f)));
        return mul(mul(p, pow2(n1)), pow2(sub(n, n1)));
    }
    static T reduce_add(V a) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
    }
    static T reduce_max(V a) {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
    }
    static void widen(V a, F64::V& lo, F64::V& hi) {
        lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
        hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    }
};

#else
#error "kernels/cpu/simd.h: include only from a *_avx512.cpp or *_avx2.cpp file"
#endif

// ---- math on vectors ------------------------------------------------------------------

// e^x, lane by lane, with range reduction x = n ln2 + r, |r| <= ln2/2, e^x = 2^n e^r.
//   float:  Cephes expf: ln2 in two parts (the first exact in 9 bits, so n*C1 is exact),
//           e^r = 1 + r + r^2 P5(r); about 1 ulp over the whole range.
//   double: fdlibm's ln2_hi/ln2_lo split (n*ln2_hi exact for |n| < 2^20) and the degree-13
//           Taylor polynomial, whose truncation error (|r|^14/14! < 5e-18) is below half an ulp.
// x is clamped first to where the result is not yet 0 or inf, so n stays in ldexp's range;
// the clamps pass NaN through, and -inf gives 0, +inf gives inf.
template <class S> inline typename S::V exp(typename S::V x) {
    using V = typename S::V;
    using T = typename S::T;
    if constexpr (sizeof(T) == 4) {
        x = S::max(S::set1(-104.0f), S::min(S::set1(89.0f), x));
        V n = S::round(S::mul(x, S::set1(1.44269504088896341f)));
        V r = S::fnmadd(n, S::set1(0.693359375f), x);
        r = S::fnmadd(n, S::set1(-2.12194440e-4f), r);
        V p = S::set1(1.9875691500e-4f);
        p = S::fmadd(p, r, S::set1(1.3981999507e-3f));
        p = S::fmadd(p, r, S::set1(8.3334519073e-3f));
        p = S::fmadd(p, r, S::set1(4.1665795894e-2f));
        p = S::fmadd(p, r, S::set1(1.6666665459e-1f));
        p = S::fmadd(p, r, S::set1(5.0000001201e-1f));
        V e = S::add(S::fmadd(p, S::mul(r, r), r), S::set1(1.0f));
        return S::ldexp(e, n);
    } else {
        x = S::max(S::set1(-746.0), S::min(S::set1(710.0), x));
        V n = S::round(S::mul(x, S::set1(1.44269504088896338700)));
        V r = S::fnmadd(n, S::set1(6.93147180369123816490e-01), x);
        r = S::fnmadd(n, S::set1(1.90821492927058770002e-10), r);
        // 1/k! for k = 13 down to 2
        constexpr double kInvFact[] = {1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                       1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,
                                       1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,        0.5};
        V p = S::set1(kInvFact[0]);
        for (int i = 1; i < 12; ++i) p = S::fmadd(p, r, S::set1(kInvFact[i]));
        V e = S::add(S::fmadd(p, S::mul(r, r), r), S::set1(1.0));
        return S::ldexp(e, n);
    }
}

// tanh, float lanes (Cephes tanhf): |x| < 0.625: x + x^3 P4(x^2); otherwise
// sign(x) (1 - 2 / (e^{2|x|} + 1)), which reaches exactly 1 once e^{2|x|} overflows.
template <class S> inline typename S::V tanh(typename S::V x) {
    using V = typename S::V;
    static_assert(sizeof(typename S::T) == 4, "simd::tanh: float lanes only");
    V ax = S::abs(x);
    V z = S::mul(x, x);
    V p = S::set1(-5.70498872745e-3f);
    p = S::fmadd(p, z, S::set1(2.06390887954e-2f));
    p = S::fmadd(p, z, S::set1(-5.37397155531e-2f));
    p = S::fmadd(p, z, S::set1(1.33314422036e-1f));
    p = S::fmadd(p, z, S::set1(-3.33332819422e-1f));
    V small = S::fmadd(S::mul(p, z), x, x);
    V e = simd::exp<S>(S::add(ax, ax));
    V big = S::fnmadd(S::set1(2.0f), S::div(S::set1(1.0f), S::add(e, S::set1(1.0f))), S::set1(1.0f));
    big = S::select(S::lt(x, S::zero()), S::neg(big), big);
    return S::select(S::lt(ax, S::set1(0.625f)), small, big);
}

}  // namespace
}  // namespace mg::kernels::simd
