// The "flash_avx2" and "flash_avx512" causal attention kernels (kernels/attention.h), one
// template over the vector traits of kernels/cpu/simd.h; isa_simd.h instantiates it for both
// instruction sets and dtypes. What changes from the reference (attention.cpp):
//   - queries and keys go in tiles of kTile = 64 (cpu::kAttentionTile): a tile's scores are
//     one kTile x kTile block (16 KB in float32), never the whole [T, T] matrix; key tiles
//     past a query tile's last row are never touched (the causal half of the work is skipped);
//   - forward: FlashAttention's online softmax. Per query row a running max m and sum l;
//     each key tile rescales the row's accumulator by e^(m_old - m_new) and adds P v;
//   - backward: FlashAttention-2's, with the key tiles outer: per key tile dk and dv build
//     up in a small block over the query tiles at and below it, while dq accumulates in a
//     [T, D] block of the head; p is recomputed from q, k and the forward's lse;
//   - every product of tiles (q k^T, P v, dout v^T, P^T dout, dS^T q, dS k) is one register-
//     tiled loop (4 rows x 4 vectors of accumulators on AVX-512, 4 x 2 on AVX2; twice the rows
//     and half the vectors for the narrow products of D = 32), the left operand broadcast from
//     memory with any two strides (so P^T and dS^T need no transposed copy), the right one
//     streamed in vectors; e^x is simd::exp;
//   - a head's k and v are copied once into padded blocks (rows of Dp = D rounded up to the
//     vector width, k and v also transposed to [D, T]), per thread, in thread_scratch: the
//     memory is O(T D) per thread;
//   - threads: the forward's items are (batch, head, query tile), the backward's (batch, head)
//     (its dk and dv sum over all the head's query tiles). Each output element is summed in
//     one fixed order, so results do not depend on the thread count.
#pragma once

#include <math.h>

#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/simd.h"

namespace mg::kernels::simd {
namespace {

template <class S> struct FlashAttention {
    using T = typename S::T;
    using V = typename S::V;
    static constexpr int64_t L = S::L;
    static constexpr int64_t kTile = cpu::kAttentionTile;
    static_assert(kTile % 16 == 0, "a tile is whole vectors in every lane width");
    static constexpr int kRows = 4;                        // rows of a register tile
    static constexpr int kVectors = kRegisters == 32 ? 4 : 2;  // its vectors of columns
    static constexpr T kNegInf = -std::numeric_limits<T>::infinity();

    static int64_t at_most(int64_t a, int64_t b) { return a < b ? a : b; }
    static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }
    static float scalar_exp(float x) { return ::expf(x); }
    static double scalar_exp(double x) { return ::exp(x); }
    static float scalar_log(float x) { return ::logf(x); }
    static double scalar_log(double x) { return ::log(x); }

    // ---- products of tiles ----------------------------------------------------------------
    // C[m, 0..NV*L) (+)= sum_{k < K} A(m, k) B[k, 0..NV*L) for R rows m, A(m, k) = a[m a_m + k a_k],
    // B's rows ldb apart and C's ldc apart. Overwrite: C = the sum (else C += the sum).
    template <bool Overwrite, int R, int NV>
    static void register_tile(const T* a, int64_t a_m, int64_t a_k, const T* b, int64_t ldb, T* c, int64_t ldc,
                              int64_t K) {
        V acc[R][NV];
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < NV; ++v) acc[r][v] = Overwrite ? S::zero() : S::load(c + r * ldc + v * L);
        for (int64_t k = 0; k < K; ++k) {
            V bv[NV];
            for (int v = 0; v < NV; ++v) bv[v] = S::load(b + k * ldb + v * L);
            for (int r = 0; r < R; ++r) {
                const V ar = S::set1(a[r * a_m + k * a_k]);
                for (int v = 0; v < NV; ++v) acc[r][v] = S::fmadd(ar, bv[v], acc[r][v]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int v = 0; v < NV; ++v) S::store(c + r * ldc + v * L, acc[r][v]);
    }
    // Register tiles of R rows: up to kVectors vectors of columns at R <= kRows, half that for the
    // taller tiles of narrow products (P v, p^T dout, ... with D = 32: two vectors on AVX-512).
    template <int R> static constexpr int64_t max_vectors() { return R > kRows ? kVectors / 2 : kVectors; }
    template <bool Overwrite, int R>
    static void register_tiles(int64_t nv, const T* a, int64_t a_m, int64_t a_k, const T* b, int64_t ldb, T* c,
                               int64_t ldc, int64_t K) {
        if constexpr (max_vectors<R>() >= 4) {
            if (nv == 4) return register_tile<Overwrite, R, 4>(a, a_m, a_k, b, ldb, c, ldc, K);
            if (nv == 3) return register_tile<Overwrite, R, 3>(a, a_m, a_k, b, ldb, c, ldc, K);
        }
        if constexpr (max_vectors<R>() >= 2)
            if (nv == 2) return register_tile<Overwrite, R, 2>(a, a_m, a_k, b, ldb, c, ldc, K);
        register_tile<Overwrite, R, 1>(a, a_m, a_k, b, ldb, c, ldc, K);
    }
    // R rows, or fewer (the last rows of a product).
    template <bool Overwrite, int R>
    static void row_tile(int64_t rows, int64_t nv, const T* a, int64_t a_m, int64_t a_k, const T* b, int64_t ldb,
                         T* c, int64_t ldc, int64_t K) {
        if constexpr (R > 1)
            if (rows < R) return row_tile<Overwrite, R - 1>(rows, nv, a, a_m, a_k, b, ldb, c, ldc, K);
        register_tiles<Overwrite, R>(nv, a, a_m, a_k, b, ldb, c, ldc, K);
    }
    // The same over M rows and N columns (N a multiple of L), tile by tile: 2 kRows rows where N is
    // at most half the widest tile (fewer broadcasts per FMA), else kRows.
    template <bool Overwrite>
    static void product(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_m, int64_t a_k, const T* b,
                        int64_t ldb, T* c, int64_t ldc) {
        const bool tall = N <= kVectors / 2 * L;
        const int64_t rows = tall ? 2 * kRows : kRows, width = (tall ? kVectors / 2 : kVectors) * L;
        for (int64_t m = 0; m < M; m += rows) {
            const T* am = a + m * a_m;
            T* cm = c + m * ldc;
            for (int64_t n = 0; n < N; n += width) {
                const int64_t nv = at_most(width, N - n) / L;
                const int64_t left = at_most(rows, M - m);
                if (tall) row_tile<Overwrite, 2 * kRows>(left, nv, am, a_m, a_k, b + n, ldb, cm + n, ldc, K);
                else row_tile<Overwrite, kRows>(left, nv, am, a_m, a_k, b + n, ldb, cm + n, ldc, K);
            }
        }
    }

    // ---- packing a head -------------------------------------------------------------------
    // dst [n, Dp] = factor * src [n, D], zero in the padding columns.
    static void pack_rows(const T* src, int64_t n, int64_t D, int64_t Dp, T factor, T* dst) {
        for (int64_t j = 0; j < n; ++j)
            for (int64_t d = 0; d < Dp; ++d) dst[j * Dp + d] = d < D ? factor * src[j * D + d] : T(0);
    }
    // dst [D, Tp] = src [n, D] transposed, zero in the columns n..Tp.
    static void pack_transposed(const T* src, int64_t n, int64_t D, int64_t Tp, T* dst) {
        for (int64_t d = 0; d < D; ++d) {
            for (int64_t j = 0; j < n; ++j) dst[d * Tp + j] = src[j * D + d];
            for (int64_t j = n; j < Tp; ++j) dst[d * Tp + j] = T(0);
        }
    }

    // The diagonal tile of scores (query tile i0 against key tile i0): key c > query r is masked.
    static void mask_diagonal(T* scores, int64_t rows) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = r + 1; c < kTile; ++c) scores[r * kTile + c] = kNegInf;
    }
    static T row_max(const T* x) {
        V m = S::load(x);
        for (int64_t c = L; c < kTile; c += L) m = S::max(m, S::load(x + c));
        return S::reduce_max(m);
    }
    static void scale_row(T* x, int64_t n, T factor) {
        const V f = S::set1(factor);
        for (int64_t c = 0; c < n; c += L) S::store(x + c, S::mul(S::load(x + c), f));
    }

    // parts[i]: sizes[i] elements of the calling thread's scratch, each part whole vectors.
    static void scratch_parts(const int64_t* sizes, int n, T** parts) {
        int64_t total = 0;
        for (int i = 0; i < n; ++i) total += round_up(sizes[i], L);
        T* p = cpu::thread_scratch<T>(cpu::Scratch::attention, total);
        for (int i = 0; i < n; ++i) {
            parts[i] = p;
            p += round_up(sizes[i], L);
        }
    }

    // ---- forward ----------------------------------------------------------------------------
    struct ForwardScratch {
        T *kt, *vp, *qs, *scores, *acc, *m, *l;  // [D, Tp], [T, Dp], [tile, Dp], [tile, tile], [tile, Dp], 2 x [tile]
    };
    static ForwardScratch forward_scratch(int64_t Tn, int64_t D, int64_t Dp, int64_t Tp) {
        const int64_t sizes[] = {D * Tp, Tn * Dp, kTile * Dp, kTile * kTile, kTile * Dp, kTile, kTile};
        T* p[7];
        scratch_parts(sizes, 7, p);
        return {p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
    }

    // Rows i0.. (up to kTile) of one head: out and lse, from the head's packed k and v.
    static void forward_tile(const AttentionShape& s, int64_t Dp, int64_t Tp, const ForwardScratch& w, const T* q,
                             int64_t i0, T* out, T* lse) {
        const int64_t Tn = s.seq, D = s.head_dim, rows = at_most(kTile, Tn - i0);
        pack_rows(q + i0 * D, rows, D, Dp, T(s.scale), w.qs);
        for (int64_t r = 0; r < rows; ++r) {
            w.m[r] = kNegInf;
            w.l[r] = T(0);
            for (int64_t d = 0; d < Dp; ++d) w.acc[r * Dp + d] = T(0);
        }
        for (int64_t j0 = 0; j0 <= i0; j0 += kTile) {  // key tiles after the diagonal are fully masked
            product<true>(rows, kTile, D, w.qs, Dp, 1, w.kt + j0, Tp, w.scores, kTile);
            if (j0 == i0) mask_diagonal(w.scores, rows);
            for (int64_t r = 0; r < rows; ++r) {
                T* sr = w.scores + r * kTile;
                const T tile_max = row_max(sr), m_new = tile_max > w.m[r] ? tile_max : w.m[r];
                const V shift = S::set1(m_new);
                V sum = S::zero();
                for (int64_t c = 0; c < kTile; c += L) {
                    const V p = simd::exp<S>(S::sub(S::load(sr + c), shift));
                    S::store(sr + c, p);
                    sum = S::add(sum, p);
                }
                const T alpha = scalar_exp(w.m[r] - m_new);  // e^-inf = 0 on the first tile
                w.l[r] = w.l[r] * alpha + S::reduce_add(sum);
                w.m[r] = m_new;
                if (alpha != T(1)) scale_row(w.acc + r * Dp, Dp, alpha);
            }
            const int64_t keys = at_most(kTile, at_most(Tn, i0 + rows) - j0);
            product<false>(rows, Dp, keys, w.scores, kTile, 1, w.vp + j0 * Dp, Dp, w.acc, Dp);
        }
        for (int64_t r = 0; r < rows; ++r) {
            const T inv = T(1) / w.l[r];
            for (int64_t d = 0; d < D; ++d) out[(i0 + r) * D + d] = w.acc[r * Dp + d] * inv;
            lse[i0 + r] = w.m[r] + scalar_log(w.l[r]);
        }
    }

    static void forward(const AttentionShape& s, const T* q, const T* k, const T* v, T* out, T* lse) {
        const int64_t Tn = s.seq, D = s.head_dim, Dp = round_up(D, L), Tp = round_up(Tn, kTile);
        const int64_t heads = s.batch * s.heads, tiles = Tp / kTile, head = Tn * D;
#pragma omp parallel if (heads * tiles > 1)
        {
            const ForwardScratch w = forward_scratch(Tn, D, Dp, Tp);
            int64_t packed = -1;  // the head whose k and v this thread holds
#pragma omp for schedule(dynamic)
            for (int64_t item = 0; item < heads * tiles; ++item) {
                const int64_t h = item / tiles, i0 = (item % tiles) * kTile;
                if (h != packed) {
                    pack_transposed(k + h * head, Tn, D, Tp, w.kt);
                    pack_rows(v + h * head, Tn, D, Dp, T(1), w.vp);
                    packed = h;
                }
                forward_tile(s, Dp, Tp, w, q + h * head, i0, out + h * head, lse + h * Tn);
            }
        }
    }

    // ---- backward ---------------------------------------------------------------------------
    struct BackwardScratch {
        T *qs, *kp, *gop, *gq;  // [T, Dp]: scale * q, k, grad_out, the dq sums
        T *kt, *vt;             // [D, Tp]
        T *row_d;               // [T]: grad_out · out per row
        T *p, *ds;              // [tile, tile]
        T *gk, *gv;             // [tile, Dp]
    };
    static BackwardScratch backward_scratch(int64_t Tn, int64_t D, int64_t Dp, int64_t Tp) {
        const int64_t sizes[] = {Tn * Dp, Tn * Dp, Tn * Dp, Tn * Dp, D * Tp, D * Tp, Tn,
                                 kTile * kTile, kTile * kTile, kTile * Dp, kTile * Dp};
        T* p[11];
        scratch_parts(sizes, 11, p);
        return {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10]};
    }

    // One head: gq, gk, gv [T, D].
    static void backward_head(const AttentionShape& s, const T* q, const T* k, const T* v, const T* out,
                              const T* lse, const T* go, T* gq, T* gk, T* gv) {
        const int64_t Tn = s.seq, D = s.head_dim, Dp = round_up(D, L), Tp = round_up(Tn, kTile);
        const BackwardScratch w = backward_scratch(Tn, D, Dp, Tp);
        pack_rows(q, Tn, D, Dp, T(s.scale), w.qs);
        pack_rows(k, Tn, D, Dp, T(1), w.kp);
        pack_rows(go, Tn, D, Dp, T(1), w.gop);
        pack_transposed(k, Tn, D, Tp, w.kt);
        pack_transposed(v, Tn, D, Tp, w.vt);
        for (int64_t t = 0; t < Tn; ++t) {
            T dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += go[t * D + d] * out[t * D + d];
            w.row_d[t] = dot;
        }
        for (int64_t i = 0; i < Tn * Dp; ++i) w.gq[i] = T(0);
        for (int64_t j0 = 0; j0 < Tn; j0 += kTile) {
            const int64_t key_rows = at_most(kTile, Tn - j0);
            for (int64_t i = 0; i < kTile * Dp; ++i) w.gk[i] = w.gv[i] = T(0);
            for (int64_t i0 = j0; i0 < Tn; i0 += kTile) {  // query tiles before j0 see none of its keys
                const int64_t rows = at_most(kTile, Tn - i0), keys = at_most(key_rows, i0 + rows - j0);
                // p = e^(scale q k - lse), masked
                product<true>(rows, kTile, D, w.qs + i0 * Dp, Dp, 1, w.kt + j0, Tp, w.p, kTile);
                if (i0 == j0) mask_diagonal(w.p, rows);
                for (int64_t r = 0; r < rows; ++r) {
                    const V l = S::set1(lse[i0 + r]);
                    T* pr = w.p + r * kTile;
                    for (int64_t c = 0; c < kTile; c += L) S::store(pr + c, simd::exp<S>(S::sub(S::load(pr + c), l)));
                }
                // gv += p^T grad_out; dp = grad_out v^T; ds = p (dp - D)
                product<false>(keys, Dp, rows, w.p, 1, kTile, w.gop + i0 * Dp, Dp, w.gv, Dp);
                product<true>(rows, kTile, D, w.gop + i0 * Dp, Dp, 1, w.vt + j0, Tp, w.ds, kTile);
                for (int64_t r = 0; r < rows; ++r) {
                    const V dr = S::set1(w.row_d[i0 + r]);
                    T* dsr = w.ds + r * kTile;
                    const T* pr = w.p + r * kTile;
                    for (int64_t c = 0; c < kTile; c += L)
                        S::store(dsr + c, S::mul(S::load(pr + c), S::sub(S::load(dsr + c), dr)));
                }
                // gk += ds^T (scale q); gq += ds k (scaled at the end)
                product<false>(keys, Dp, rows, w.ds, 1, kTile, w.qs + i0 * Dp, Dp, w.gk, Dp);
                product<false>(rows, Dp, keys, w.ds, kTile, 1, w.kp + j0 * Dp, Dp, w.gq + i0 * Dp, Dp);
            }
            for (int64_t j = 0; j < key_rows; ++j)
                for (int64_t d = 0; d < D; ++d) {
                    gk[(j0 + j) * D + d] = w.gk[j * Dp + d];
                    gv[(j0 + j) * D + d] = w.gv[j * Dp + d];
                }
        }
        const T scale = T(s.scale);
        for (int64_t t = 0; t < Tn; ++t)
            for (int64_t d = 0; d < D; ++d) gq[t * D + d] = scale * w.gq[t * Dp + d];
    }

    static void backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* out, const T* lse,
                         const T* go, T* gq, T* gk, T* gv) {
        const int64_t heads = s.batch * s.heads, head = s.seq * s.head_dim;
#pragma omp parallel for schedule(dynamic) if (heads > 1)
        for (int64_t h = 0; h < heads; ++h) {
            const int64_t o = h * head;
            backward_head(s, q + o, k + o, v + o, out + o, lse + h * s.seq, go + o, gq + o, gk + o, gv + o);
        }
    }
};

// The tables' entries (kernels/attention.h).
template <class S>
void attention_forward(const AttentionShape& s, const void* q, const void* k, const void* v, void* out, void* lse) {
    using T = typename S::T;
    FlashAttention<S>::forward(s, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                               static_cast<T*>(out), static_cast<T*>(lse));
}
template <class S>
void attention_backward(const AttentionShape& s, const void* q, const void* k, const void* v, const void* out,
                        const void* lse, const void* go, void* gq, void* gk, void* gv) {
    using T = typename S::T;
    FlashAttention<S>::backward(s, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
                                static_cast<const T*>(out), static_cast<const T*>(lse), static_cast<const T*>(go),
                                static_cast<T*>(gq), static_cast<T*>(gk), static_cast<T*>(gv));
}

}  // namespace
}  // namespace mg::kernels::simd
