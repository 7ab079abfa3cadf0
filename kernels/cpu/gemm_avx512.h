// The AVX-512 traits of the blocked GEMM (gemm_blocked.h): float and double registers,
// loads, masks, FMA, the in-register transpose, the 14 x 32 / 14 x 16 micro-kernel shape and
// the block sizes, argued in gemm_avx512.cpp. Include only from *_avx512.cpp files, which
// are compiled for AVX-512.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/gemm_blocked.h"

namespace mg::kernels::cpu::avx512 {

struct F32 {
    using T = float;
    using reg = __m512;
    using mask = __mmask16;
    static constexpr int L = 16, MR = 14, NV = 2, NR = NV * L;
    static constexpr int64_t MC = 336, KC = 256, NC = 4096;
    // Below this many FLOPs one thread is faster than waking the others.
    static constexpr double kParallelFlops = 4e6;
    static reg zero() { return _mm512_setzero_ps(); }
    static reg set1(T x) { return _mm512_set1_ps(x); }
    static reg broadcast(const T* p) { return _mm512_set1_ps(*p); }
    static reg load(const T* p) { return _mm512_loadu_ps(p); }
    static void store(T* p, reg x) { _mm512_storeu_ps(p, x); }
    static mask tail(int lanes) { return mask((1u << lanes) - 1u); }  // lanes in [0, 16]
    static reg load_masked(const T* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store_masked(T* p, mask m, reg x) { _mm512_mask_storeu_ps(p, m, x); }
    static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    // r[i] = row i of a 16 x 16 tile -> r[c] = column c. Pairs of rows interleave
    // (unpack ps), then pairs of pairs (unpack pd): u[4i+q] holds, in 128-bit lane l, rows
    // 4i..4i+3 of column 4l+q; two rounds of 128-bit lane shuffles transpose the 4 x 4
    // grid of lanes. 64 shuffles for 256 elements. (The maskz forms with every lane set are
    // the plain instructions; the plain intrinsics trip GCC 12's -Wuninitialized.)
    static void transpose(reg (&r)[L]) {
        reg t[16], u[16];
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_maskz_unpacklo_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_maskz_unpackhi_ps(0xFFFF, r[2 * i], r[2 * i + 1]);
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
            const reg v0 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[q], u[4 + q], 0x88);
            const reg v1 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[q], u[4 + q], 0xDD);
            const reg v2 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + q], u[12 + q], 0x88);
            const reg v3 = _mm512_maskz_shuffle_f32x4(0xFFFF, u[8 + q], u[12 + q], 0xDD);
            r[q] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, 0x88);
            r[4 + q] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, 0x88);
            r[8 + q] = _mm512_maskz_shuffle_f32x4(0xFFFF, v0, v2, 0xDD);
            r[12 + q] = _mm512_maskz_shuffle_f32x4(0xFFFF, v1, v3, 0xDD);
        }
    }
    // _mm512_reduce_add_ps and even the 512->256 casts trip -Wuninitialized inside
    // GCC 12's headers; the masked extracts do not.
    static T hsum(reg x) {
        const __m256 s8 =
            _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xff, x, 0), _mm512_maskz_extractf32x8_ps(0xff, x, 1));
        const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
    }
};

struct F64 {
    using T = double;
    using reg = __m512d;
    using mask = __mmask8;
    static constexpr int L = 8, MR = 14, NV = 2, NR = NV * L;
    static constexpr int64_t MC = 336, KC = 128, NC = 4096;
    static constexpr double kParallelFlops = 4e6;
    static reg zero() { return _mm512_setzero_pd(); }
    static reg set1(T x) { return _mm512_set1_pd(x); }
    static reg broadcast(const T* p) { return _mm512_set1_pd(*p); }
    static reg load(const T* p) { return _mm512_loadu_pd(p); }
    static void store(T* p, reg x) { _mm512_storeu_pd(p, x); }
    static mask tail(int lanes) { return mask((1u << lanes) - 1u); }  // lanes in [0, 8]
    static reg load_masked(const T* p, mask m) { return _mm512_maskz_loadu_pd(m, p); }
    static void store_masked(T* p, mask m, reg x) { _mm512_mask_storeu_pd(p, m, x); }
    static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    // 8 x 8: unpack pairs of rows (t[2i+q] holds rows 2i, 2i+1 of column 2l+q in lane l),
    // then the 128-bit lane grid transposed as in F32.
    static void transpose(reg (&r)[L]) {
        reg t[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm512_maskz_unpacklo_pd(0xFF, r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_maskz_unpackhi_pd(0xFF, r[2 * i], r[2 * i + 1]);
        }
        for (int q = 0; q < 2; ++q) {
            const reg v0 = _mm512_maskz_shuffle_f64x2(0xFF, t[q], t[2 + q], 0x88);
            const reg v1 = _mm512_maskz_shuffle_f64x2(0xFF, t[q], t[2 + q], 0xDD);
            const reg v2 = _mm512_maskz_shuffle_f64x2(0xFF, t[4 + q], t[6 + q], 0x88);
            const reg v3 = _mm512_maskz_shuffle_f64x2(0xFF, t[4 + q], t[6 + q], 0xDD);
            r[q] = _mm512_maskz_shuffle_f64x2(0xFF, v0, v2, 0x88);
            r[2 + q] = _mm512_maskz_shuffle_f64x2(0xFF, v1, v3, 0x88);
            r[4 + q] = _mm512_maskz_shuffle_f64x2(0xFF, v0, v2, 0xDD);
            r[6 + q] = _mm512_maskz_shuffle_f64x2(0xFF, v1, v3, 0xDD);
        }
    }
    static T hsum(reg x) {
        const __m256d s4 =
            _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xff, x, 0), _mm512_maskz_extractf64x4_pd(0xff, x, 1));
        const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    }
};

}  // namespace mg::kernels::cpu::avx512
