// gemm "avx2": the blocked GEMM of gemm_blocked.h on 256-bit vectors, for CPUs
// without AVX-512 (and as a comparison point on those with it).
//
// What it changes against "reference": packed panels, MC/KC/NC cache blocking, a
// register-tiled micro-kernel and OpenMP over blocks of C (see gemm_blocked.h).
//
// Micro-kernel 6 x 16 (float) / 6 x 8 (double): 6 rows of A broadcast against two
// vectors of B. 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm
// registers; per k step 12 FMAs against 8 loads. 12 chains cover the 2 FMA/cycle x
// 4-cycle latency of Haswell..Zen 5 (8 needed). It is the BLIS Haswell shape.
//
// Blocking (float, in elements):
//   KC = 256: the B micro-panel 256 x 16 x 4 B = 16 KiB, half of a 32 KiB L1d.
//   MC = 144 (6 * 24): the packed A block 144 x 256 x 4 B = 144 KiB in L2.
//   NC = 4096: the packed B panel 4 MiB in L3.
#include <immintrin.h>

#include "kernels/cpu/gemm_blocked.h"

namespace mg::kernels {
namespace cpu::avx2 {

// Masks for the edge vectors: kMaskTable + (L - lanes) starts with `lanes` all-ones words.
alignas(32) static const int32_t kMask32[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
alignas(32) static const int64_t kMask64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

struct F32 {
    using T = float;
    using reg = __m256;
    using mask = __m256i;
    static constexpr int L = 8, MR = 6, NV = 2, NR = NV * L;
    static constexpr int64_t MC = 144, KC = 256, NC = 4096;
    // Below this many FLOPs one thread is faster than waking the others.
    static constexpr double kParallelFlops = 4e6;
    static reg zero() { return _mm256_setzero_ps(); }
    static reg set1(T x) { return _mm256_set1_ps(x); }
    static reg broadcast(const T* p) { return _mm256_broadcast_ss(p); }
    static reg load(const T* p) { return _mm256_loadu_ps(p); }
    static void store(T* p, reg x) { _mm256_storeu_ps(p, x); }
    static mask tail(int lanes) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask32 + L - lanes)); }
    static reg load_masked(const T* p, mask m) { return _mm256_maskload_ps(p, m); }
    static void store_masked(T* p, mask m, reg x) { _mm256_maskstore_ps(p, m, x); }
    static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    // r[i] = row i of an 8 x 8 tile -> r[c] = column c: unpack pairs of rows, pairs of
    // pairs (u[4i+q] holds rows 4i..4i+3 of column 4l+q in 128-bit lane l), then swap lanes.
    static void transpose(reg (&r)[L]) {
        reg t[8], u[8];
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
    static T hsum(reg x) {
        const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
        const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
    }
};

struct F64 {
    using T = double;
    using reg = __m256d;
    using mask = __m256i;
    static constexpr int L = 4, MR = 6, NV = 2, NR = NV * L;
    static constexpr int64_t MC = 144, KC = 128, NC = 4096;
    static constexpr double kParallelFlops = 4e6;
    static reg zero() { return _mm256_setzero_pd(); }
    static reg set1(T x) { return _mm256_set1_pd(x); }
    static reg broadcast(const T* p) { return _mm256_broadcast_sd(p); }
    static reg load(const T* p) { return _mm256_loadu_pd(p); }
    static void store(T* p, reg x) { _mm256_storeu_pd(p, x); }
    static mask tail(int lanes) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask64 + L - lanes)); }
    static reg load_masked(const T* p, mask m) { return _mm256_maskload_pd(p, m); }
    static void store_masked(T* p, mask m, reg x) { _mm256_maskstore_pd(p, m, x); }
    static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    // 4 x 4: unpack pairs of rows (t[2i+q] holds rows 2i, 2i+1 of column 2l+q in lane l),
    // then swap 128-bit lanes.
    static void transpose(reg (&r)[L]) {
        reg t[4];
        for (int i = 0; i < 2; ++i) {
            t[2 * i] = _mm256_unpacklo_pd(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_pd(r[2 * i], r[2 * i + 1]);
        }
        for (int q = 0; q < 2; ++q) {
            r[q] = _mm256_permute2f128_pd(t[q], t[2 + q], 0x20);
            r[2 + q] = _mm256_permute2f128_pd(t[q], t[2 + q], 0x31);
        }
    }
    static T hsum(reg x) {
        const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(x), _mm256_extractf128_pd(x, 1));
        return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    }
};

}  // namespace cpu::avx2

// C = alpha * op(A) · op(B) + beta * C, float32 / float64 (GemmArgs in kernels/gemm.h).
void gemm_avx2_f32(const GemmArgs& g, const void* a, const void* b, void* c) {
    cpu::check_gemm_args(g, "avx2", a, b, c);
    cpu::gemm_blocked::gemm_batched<cpu::avx2::F32>(g, a, b, c);
}

void gemm_avx2_f64(const GemmArgs& g, const void* a, const void* b, void* c) {
    cpu::check_gemm_args(g, "avx2", a, b, c);
    cpu::gemm_blocked::gemm_batched<cpu::avx2::F64>(g, a, b, c);
}

}  // namespace mg::kernels
