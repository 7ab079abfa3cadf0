// Vector traits for the *_avx512.cpp and *_avx2.cpp kernel files: one small set of
// operations (load, store, partial load/store of a tail, arithmetic, compare/select,
// horizontal reductions, the in-register transpose the GEMM packs with) over F32 and F64
// lanes, so that one kernel template serves both instruction sets and both dtypes. Every
// SIMD family builds on these, the blocked GEMM included (gemm_simd.h adds its tile shape).
//
//            F32 lanes  F64 lanes  tails
//   AVX-512      16          8      mask registers
//   AVX2          8          4      maskload/maskstore with a lane-index compare
//
// Per instruction set, F32 and F64 are one template (Avx512Lanes, Avx2Lanes: the _ps or _pd
// intrinsic picked by the element type) plus what differs in shape: reductions, transposes,
// float's widening, AVX2's power of two.
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
#include <type_traits>

namespace mg::kernels::simd {
namespace {

// The arithmetic every block below shares, through GCC's vector operators on any of its
// vectors (_mm*_add_ps and friends are defined as these operators: the same instructions).
struct Arithmetic {
    template <class V> static V add(V a, V b) { return a + b; }
    template <class V> static V sub(V a, V b) { return a - b; }
    template <class V> static V mul(V a, V b) { return a * b; }
    template <class V> static V div(V a, V b) { return a / b; }
};

#if defined(__AVX512F__) && defined(__AVX512DQ__)

constexpr const char* kIsa = "avx512";
constexpr int kRegisters = 32;  // zmm0..zmm31

// The low 256 bits: a free register view (GCC 12's _mm512_cast*512_*256 goes through an
// extract from an "undefined" vector and draws the warning described above).
inline __m256d low_half(__m512d a) { return __builtin_shufflevector(a, a, 0, 1, 2, 3); }
inline __m256 low_half(__m512 a) { return __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7); }

// y[l] lane i = x[i] lane l: the 4 x 4 grid of 128-bit lanes transposed, in two rounds of lane
// shuffles; the last step of the in-register transposes below. (The maskz forms with every
// lane set are the plain instructions; the plain intrinsics trip GCC 12's -Wuninitialized.)
inline void transpose_128_lanes(const __m512 (&x)[4], __m512 (&y)[4]) {
    const __m512 v0 = _mm512_maskz_shuffle_f32x4(0xFFFF, x[0], x[1], 0x88);
    const __m512 v1 = _mm512_maskz_shuffle_f32x4(0xFFFF, x[0], x[1], 0xDD);
    const __m512 v2 = _mm512_maskz_shuffle_f32x4(0xFFFF, x[2], x[3], 0x88);
    const __m512 v3 = _mm512_maskz_shuffle_f32x4(0xFFFF, x[2], x[3], 0xDD);
    y[0] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, 0x88);
    y[1] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, 0x88);
    y[2] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, 0xDD);
    y[3] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, 0xDD);
}

// What F32 and F64 share on AVX-512: one template, the _ps or _pd intrinsic picked by the
// element type.
template <class T> auto avx512_vector() {
    if constexpr (sizeof(T) == 4) return __m512{};
    else return __m512d{};
}

template <class Element> struct Avx512Lanes : Arithmetic {
    using T = Element;
    using V = decltype(avx512_vector<T>());
    static constexpr int64_t L = 64 / int64_t(sizeof(T));
    static constexpr bool kFloat = sizeof(T) == 4;
    using M = std::conditional_t<kFloat, __mmask16, __mmask8>;
    static constexpr M kAll = M((1u << L) - 1u);

    static V zero() { if constexpr (kFloat) return _mm512_setzero_ps(); else return _mm512_setzero_pd(); }
    static V set1(T x) { if constexpr (kFloat) return _mm512_set1_ps(x); else return _mm512_set1_pd(x); }
    static V broadcast(const T* p) { return set1(*p); }
    static V load(const T* p) { if constexpr (kFloat) return _mm512_loadu_ps(p); else return _mm512_loadu_pd(p); }
    static void store(T* p, V x) {
        if constexpr (kFloat) _mm512_storeu_ps(p, x);
        else _mm512_storeu_pd(p, x);
    }
    // The mask of the first k lanes, k in [0, L]: what load_masked / store_masked take.
    static M tail(int64_t k) { return M((1u << k) - 1u); }
    // The lanes of m from p, zero elsewhere; masked-off lanes are never read.
    static V load_masked(const T* p, M m) {
        if constexpr (kFloat) return _mm512_maskz_loadu_ps(m, p);
        else return _mm512_maskz_loadu_pd(m, p);
    }
    static void store_masked(T* p, M m, V x) {
        if constexpr (kFloat) _mm512_mask_storeu_ps(p, m, x);
        else _mm512_mask_storeu_pd(p, m, x);
    }
    // The first k lanes from p, the rest `fill`; k in [0, L].
    static V load_part(const T* p, int64_t k, T fill) {
        if constexpr (kFloat) return _mm512_mask_loadu_ps(set1(fill), tail(k), p);
        else return _mm512_mask_loadu_pd(set1(fill), tail(k), p);
    }
    static void store_part(T* p, V x, int64_t k) { store_masked(p, tail(k), x); }
    static V fmadd(V a, V b, V c) {  // a*b + c
        if constexpr (kFloat) return _mm512_fmadd_ps(a, b, c);
        else return _mm512_fmadd_pd(a, b, c);
    }
    static V fnmadd(V a, V b, V c) {  // c - a*b
        if constexpr (kFloat) return _mm512_fnmadd_ps(a, b, c);
        else return _mm512_fnmadd_pd(a, b, c);
    }
    static V min(V a, V b) {
        if constexpr (kFloat) return _mm512_mask_min_ps(a, kAll, a, b);
        else return _mm512_mask_min_pd(a, kAll, a, b);
    }
    static V max(V a, V b) {
        if constexpr (kFloat) return _mm512_mask_max_ps(a, kAll, a, b);
        else return _mm512_mask_max_pd(a, kAll, a, b);
    }
    static V abs(V a) { if constexpr (kFloat) return _mm512_abs_ps(a); else return _mm512_abs_pd(a); }
    static V neg(V a) {
        if constexpr (kFloat) return _mm512_xor_ps(a, set1(-0.0f));
        else return _mm512_xor_pd(a, set1(-0.0));
    }
    static V sqrt(V a) {
        if constexpr (kFloat) return _mm512_mask_sqrt_ps(a, kAll, a);
        else return _mm512_mask_sqrt_pd(a, kAll, a);
    }
    static M gt(V a, V b) { return compare<_CMP_GT_OQ>(a, b); }
    static M lt(V a, V b) { return compare<_CMP_LT_OQ>(a, b); }
    static V select(M m, V a, V b) {  // m ? a : b
        if constexpr (kFloat) return _mm512_mask_blend_ps(m, b, a);
        else return _mm512_mask_blend_pd(m, b, a);
    }
    static V round(V a) { return round_as<_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC>(a); }
    static V floor(V a) { return round_as<_MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC>(a); }
    // p * 2^n for integer-valued n; vscalefps/pd rounds once, to a subnormal, zero or inf as needed.
    static V ldexp(V p, V n) {
        if constexpr (kFloat) return _mm512_mask_scalef_ps(p, kAll, p, n);
        else return _mm512_mask_scalef_pd(p, kAll, p, n);
    }

private:
    template <int Predicate> static M compare(V a, V b) {
        if constexpr (kFloat) return _mm512_cmp_ps_mask(a, b, Predicate);
        else return _mm512_cmp_pd_mask(a, b, Predicate);
    }
    template <int Mode> static V round_as(V a) {
        if constexpr (kFloat) return _mm512_mask_roundscale_ps(a, kAll, a, Mode);
        else return _mm512_mask_roundscale_pd(a, kAll, a, Mode);
    }
};

struct F64 : Avx512Lanes<double> {
    // r[i] = row i of an 8 x 8 tile -> r[c] = column c: unpack pairs of rows (t[2i+q] holds
    // rows 2i, 2i+1 of column 2l+q in 128-bit lane l), then transpose the grid of 128-bit
    // lanes as F32::transpose does. (The maskz forms with every lane set are the plain
    // instructions; the plain intrinsics trip GCC 12's -Wuninitialized.)
    static void transpose(V (&r)[L]) {
        V t[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm512_maskz_unpacklo_pd(kAll, r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_maskz_unpackhi_pd(kAll, r[2 * i], r[2 * i + 1]);
        }
        for (int q = 0; q < 2; ++q) {
            __m512 y[4];
            transpose_128_lanes({_mm512_castpd_ps(t[q]), _mm512_castpd_ps(t[2 + q]), _mm512_castpd_ps(t[4 + q]),
                                 _mm512_castpd_ps(t[6 + q])},
                                y);
            for (int l = 0; l < 4; ++l) r[2 * l + q] = _mm512_castps_pd(y[l]);
        }
    }
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

struct F32 : Avx512Lanes<float> {
    using Wide = F64;  // the lanes a float vector widens into (two of them)
    // r[i] = row i of a 16 x 16 tile -> r[c] = column c. Pairs of rows interleave
    // (unpack ps), then pairs of pairs (unpack pd): u[4i+q] holds, in 128-bit lane l, rows
    // 4i..4i+3 of column 4l+q; two rounds of 128-bit lane shuffles transpose the 4 x 4
    // grid of lanes. 64 shuffles for 256 elements.
    static void transpose(V (&r)[L]) {
        V t[16], u[16];
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_maskz_unpacklo_ps(kAll, r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_maskz_unpackhi_ps(kAll, r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 4; ++i) {
            const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
            const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
            u[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, a, c));
            u[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, a, c));
            u[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(0xFF, b, d));
            u[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(0xFF, b, d));
        }
        for (int q = 0; q < 4; ++q) {
            V y[4];
            transpose_128_lanes({u[q], u[4 + q], u[8 + q], u[12 + q]}, y);
            for (int l = 0; l < 4; ++l) r[4 * l + q] = y[l];
        }
    }
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
constexpr int kRegisters = 16;  // ymm0..ymm15

// p * 2^n for AVX2, which has no scalef: two factors S::pow2(n1) S::pow2(n - n1), n1 = floor(n/2),
// each a normal power of two for exp's clamped range, so only the last multiply rounds.
template <class S> typename S::V ldexp_by_halves(typename S::V p, typename S::V n) {
    const typename S::V n1 = S::floor(S::mul(n, S::set1(typename S::T(0.5))));
    return S::mul(S::mul(p, S::pow2(n1)), S::pow2(S::sub(n, n1)));
}

// What F32 and F64 share on AVX2: one template, the _ps or _pd intrinsic picked by the
// element type.
template <class T> auto avx2_vector() {
    if constexpr (sizeof(T) == 4) return __m256{};
    else return __m256d{};
}

template <class Element> struct Avx2Lanes : Arithmetic {
    using T = Element;
    using V = decltype(avx2_vector<T>());
    using M = V;  // all-ones lanes where true
    static constexpr int64_t L = 32 / int64_t(sizeof(T));
    static constexpr bool kFloat = sizeof(T) == 4;

    static V zero() { if constexpr (kFloat) return _mm256_setzero_ps(); else return _mm256_setzero_pd(); }
    static V set1(T x) { if constexpr (kFloat) return _mm256_set1_ps(x); else return _mm256_set1_pd(x); }
    static V broadcast(const T* p) {
        if constexpr (kFloat) return _mm256_broadcast_ss(p);
        else return _mm256_broadcast_sd(p);
    }
    static V load(const T* p) { if constexpr (kFloat) return _mm256_loadu_ps(p); else return _mm256_loadu_pd(p); }
    static void store(T* p, V x) {
        if constexpr (kFloat) _mm256_storeu_ps(p, x);
        else _mm256_storeu_pd(p, x);
    }
    // All-ones words in the first k lanes, k in [0, L]: what load_masked / store_masked take.
    static __m256i tail(int64_t k) {
        if constexpr (kFloat)
            return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        else return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3));
    }
    // The lanes of m from p, zero elsewhere; masked-off lanes are never read.
    static V load_masked(const T* p, __m256i m) {
        if constexpr (kFloat) return _mm256_maskload_ps(p, m);
        else return _mm256_maskload_pd(p, m);
    }
    static void store_masked(T* p, __m256i m, V x) {
        if constexpr (kFloat) _mm256_maskstore_ps(p, m, x);
        else _mm256_maskstore_pd(p, m, x);
    }
    // The first k lanes from p, the rest `fill`; k in [0, L].
    static V load_part(const T* p, int64_t k, T fill) {
        const __m256i m = tail(k);
        if constexpr (kFloat) return _mm256_blendv_ps(set1(fill), load_masked(p, m), _mm256_castsi256_ps(m));
        else return _mm256_blendv_pd(set1(fill), load_masked(p, m), _mm256_castsi256_pd(m));
    }
    static void store_part(T* p, V x, int64_t k) { store_masked(p, tail(k), x); }
    static V fmadd(V a, V b, V c) {
        if constexpr (kFloat) return _mm256_fmadd_ps(a, b, c);
        else return _mm256_fmadd_pd(a, b, c);
    }
    static V fnmadd(V a, V b, V c) {
        if constexpr (kFloat) return _mm256_fnmadd_ps(a, b, c);
        else return _mm256_fnmadd_pd(a, b, c);
    }
    static V min(V a, V b) { if constexpr (kFloat) return _mm256_min_ps(a, b); else return _mm256_min_pd(a, b); }
    static V max(V a, V b) { if constexpr (kFloat) return _mm256_max_ps(a, b); else return _mm256_max_pd(a, b); }
    static V abs(V a) {
        if constexpr (kFloat) return _mm256_andnot_ps(set1(-0.0f), a);
        else return _mm256_andnot_pd(set1(-0.0), a);
    }
    static V neg(V a) {
        if constexpr (kFloat) return _mm256_xor_ps(a, set1(-0.0f));
        else return _mm256_xor_pd(a, set1(-0.0));
    }
    static V sqrt(V a) { if constexpr (kFloat) return _mm256_sqrt_ps(a); else return _mm256_sqrt_pd(a); }
    static M gt(V a, V b) { return compare<_CMP_GT_OQ>(a, b); }
    static M lt(V a, V b) { return compare<_CMP_LT_OQ>(a, b); }
    static V select(M m, V a, V b) {  // m ? a : b
        if constexpr (kFloat) return _mm256_blendv_ps(b, a, m);
        else return _mm256_blendv_pd(b, a, m);
    }
    static V round(V a) { return round_as<_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC>(a); }
    static V floor(V a) { return round_as<_MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC>(a); }

private:
    template <int Predicate> static M compare(V a, V b) {
        if constexpr (kFloat) return _mm256_cmp_ps(a, b, Predicate);
        else return _mm256_cmp_pd(a, b, Predicate);
    }
    template <int Mode> static V round_as(V a) {
        if constexpr (kFloat) return _mm256_round_ps(a, Mode);
        else return _mm256_round_pd(a, Mode);
    }
};

struct F64 : Avx2Lanes<double> {
    // 2^k for integer-valued k in [-1022, 1023]: k + 1023 lands in the low bits of
    // 1.5*2^52 + k + 1023, and a shift by 52 moves it into the exponent field.
    static V pow2(V k) {
        __m256d t = _mm256_add_pd(k, set1(6755399441055744.0 + 1023.0));
        return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(t), 52));
    }
    // p * 2^n for integer-valued n in [-1077, 1025] (exp's clamped range).
    static V ldexp(V p, V n) { return ldexp_by_halves<F64>(p, n); }
    // 4 x 4 rows -> columns: unpack pairs of rows (t[2i+q] holds rows 2i, 2i+1 of column
    // 2l+q in 128-bit lane l), then swap 128-bit lanes.
    static void transpose(V (&r)[L]) {
        V t[4];
        for (int i = 0; i < 2; ++i) {
            t[2 * i] = _mm256_unpacklo_pd(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_pd(r[2 * i], r[2 * i + 1]);
        }
        for (int q = 0; q < 2; ++q) {
            r[q] = _mm256_permute2f128_pd(t[q], t[2 + q], 0x20);
            r[2 + q] = _mm256_permute2f128_pd(t[q], t[2 + q], 0x31);
        }
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

struct F32 : Avx2Lanes<float> {
    using Wide = F64;
    // 2^k for integer-valued k in [-126, 127], built in the exponent field.
    static V pow2(V k) {
        __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    }
    // p * 2^n for integer-valued n in [-150, 129] (exp's clamped range).
    static V ldexp(V p, V n) { return ldexp_by_halves<F32>(p, n); }
    // 8 x 8 rows -> columns: unpack pairs of rows, pairs of pairs (u[4i+q] holds rows
    // 4i..4i+3 of column 4l+q in 128-bit lane l), then swap lanes.
    static void transpose(V (&r)[L]) {
        V t[8], u[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 2; ++i) {
            const __m256d a = _mm256_castps_pd(t[4 * i]), b = _mm256_castps_pd(t[4 * i + 1]);
            const __m256d c = _mm256_castps_pd(t[4 * i + 2]), d = _mm256_castps_pd(t[4 * i + 3]);
            u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
            u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
            u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
            u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
        }
        for (int q = 0; q < 4; ++q) {
            r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
            r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
        }
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
