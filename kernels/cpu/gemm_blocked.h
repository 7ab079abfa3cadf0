// The GotoBLAS/BLIS GEMM shared by the SIMD variants ("avx2", "avx512"; gemm_simd.h).
//
// Everything here is a template over V, gemm_simd.h's GemmTraits: simd.h's vector traits
// (the element type T, the vector V and its lane count L, loads, stores, FMA, masks for
// edges, the transpose) plus the micro-kernel shape MR x NR (NR = NV * L). The block sizes
// mc, kc, nc are a run-time GemmBlocking (gemm_blocking.h), read once per call. simd.h's
// traits live in an anonymous namespace, so every instantiation is private to the file
// compiled for its instruction set, and code compiled with -mavx512f never becomes the
// out-of-line copy that another file links to (the classic one-definition trap of per-file
// ISA flags); the few non-template helpers are static.
// Nothing here formats or throws mg::Error (that would instantiate fmt with ISA flags):
// the variant checks its arguments first with check_gemm_args (gemm.cpp).
//
// One matrix, C (m x n) = alpha * op(A) (m x k) · op(B) (k x n) + beta * C:
//   for jc in steps of nc over n:
//     for pc in steps of kc over k:
//       pack op(B)[pc.., jc..] (kc x nc) into NR-wide panels  [nc/NR][kc][NR]   (L3)
//       for ic in steps of mc over m:
//         pack op(A)[ic.., pc..] (mc x kc) into MR-tall panels [mc/MR][kc][MR]  (L2)
//         for jr in steps of NR:          one B micro-panel (kc x NR) stays in L1
//           for ir in steps of MR:        A micro-panels stream from L2
//             micro-kernel: an MR x NR tile of C in registers, kc rank-1 updates
// Packing puts every transpose case into that one layout, so one micro-kernel serves
// all four; panels are zero-padded to MR / NR, so edge tiles compute on zeros and only
// the writeback is masked. The first kc block applies beta, later ones add (beta = 1).
//
// Threads: C is cut into a tm x tn grid of blocks aligned to MR / NR, one per thread, and
// each thread runs the whole loop nest on its block with its own packing buffers. No
// barriers; A is packed tn times and B tm times, which costs little next to the FMAs.
// K is never split, and every element of C sees the same operations in the same order
// (the same kc blocks, one FMA chain per block, the same writeback) whatever block or
// tile holds it, so the result is bitwise the same for any thread count.
//
// Shapes that would waste the machinery take other paths: m == 1 or n == 1 is a
// matrix-vector product (no packing; dot products or axpy columns), and a product below
// kParallelFlops runs on the calling thread (thread start-up would cost more than it
// saves). Batches of small matrices are spread over threads one matrix each.
#pragma once

#include <omp.h>

#include <cstdint>
#include <exception>
#include <utility>

#include "kernels/cpu/gemm_blocking.h"
#include "kernels/cpu/scratch.h"
#include "kernels/gemm.h"

namespace mg::kernels::cpu {

// Throws mg::Error naming the variant and the value at fault (defined in gemm.cpp).
void check_gemm_args(const GemmArgs& g, const char* variant, const void* a, const void* b, const void* c);

namespace gemm_blocked {

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
// How many of a vector's L lanes are left at offset `at` of a row of `len` elements.
static inline int lanes_left(int64_t len, int64_t at, int L) {
    return int(len - at >= L ? L : len - at > 0 ? len - at : 0);
}

// op(X) of a stored row-major matrix: op(X)(r, c) = X[r*ld + c], or X[c*ld + r] when trans.
template <class V>
struct OpView {
    using T = typename V::T;
    const T* p;
    int64_t ld;
    bool trans;
    // The view whose (0, 0) is op(X)(r0, c0).
    OpView at(int64_t r0, int64_t c0) const { return {trans ? p + c0 * ld + r0 : p + r0 * ld + c0, ld, trans}; }
};

// ---- packing ------------------------------------------------------------------

// dst[q*ldd + i] = src[i*ld + q] for q < steps, i < L: a tile of `rows` stored rows
// (rows past `rows` read as zero; only `steps` elements of each row are read) transposed in
// registers by V::transpose; each of the `steps` output rows keeps its first `lanes` lanes.
template <class V>
inline void transpose_tile(const typename V::T* src, int64_t ld, int rows, int steps, typename V::T* dst,
                           int64_t ldd, int lanes) {
    using reg = typename V::V;
    constexpr int L = V::L;
    reg r[L];
    const auto in_mask = V::tail(steps);
#pragma GCC unroll 16
    for (int i = 0; i < L; ++i)
        r[i] = i >= rows ? V::zero() : steps == L ? V::load(src + i * ld) : V::load_masked(src + i * ld, in_mask);
    V::transpose(r);
    if (lanes == L) {
        for (int q = 0; q < steps; ++q) V::store(dst + q * ldd, r[q]);
    } else {
        const auto out_mask = V::tail(lanes);
        for (int q = 0; q < steps; ++q) V::store_masked(dst + q * ldd, out_mask, r[q]);
    }
}

// op(A) (mc x kc, view at (ic, pc)) -> out [ceil(mc/MR)][kc][MR], rows past mc zero.
template <class V>
void pack_a(OpView<V> a, int64_t mc, int64_t kc, typename V::T* out) {
    using T = typename V::T;
    constexpr int MR = V::MR, L = V::L;
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const int rows = int(min64(MR, mc - ir));
        T* dst = out + ir * kc;
        if (!a.trans) {
            // Row r of the panel is contiguous in k: L x L tiles transposed in registers,
            // in row groups of L (MR may be more or less than L), MR lanes kept per k.
            for (int64_t p0 = 0; p0 < kc; p0 += L) {
                const int steps = int(min64(L, kc - p0));
                for (int g = 0; g * L < MR; ++g)
                    transpose_tile<V>(a.p + (ir + g * L) * a.ld + p0, a.ld, lanes_left(rows, g * L, L), steps,
                                      dst + p0 * MR + g * L, MR, lanes_left(MR, g * L, L));
            }
        } else {
            // Stored k x m: for each k the panel's MR values are contiguous: masked vector
            // copies in groups of L, zeros past `rows`.
            const T* src = a.p + ir;
            for (int64_t p = 0; p < kc; ++p)
                for (int g = 0; g * L < MR; ++g)
                    V::store_masked(dst + p * MR + g * L, V::tail(lanes_left(MR, g * L, L)),
                                    V::load_masked(src + p * a.ld + g * L, V::tail(lanes_left(rows, g * L, L))));
        }
    }
}

// op(B) (kc x nc, view at (pc, jc)) -> out [ceil(nc/NR)][kc][NR], columns past nc zero.
template <class V>
void pack_b(OpView<V> b, int64_t kc, int64_t nc, typename V::T* out) {
    using T = typename V::T;
    constexpr int NR = V::NR, NV = V::NV, L = V::L;
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int cols = int(min64(NR, nc - jr));
        T* dst = out + jr * kc;
        if (!b.trans) {
            // Row k of the panel is contiguous: NV vector copies per k.
            const T* src = b.p + jr;
            if (cols == NR) {
                for (int64_t p = 0; p < kc; ++p)
#pragma GCC unroll 4
                    for (int v = 0; v < NV; ++v) V::store(dst + p * NR + v * L, V::load(src + p * b.ld + v * L));
            } else {
                for (int64_t p = 0; p < kc; ++p)
                    for (int v = 0; v < NV; ++v) {
                        const auto mask = V::tail(lanes_left(cols, v * L, L));
                        V::store(dst + p * NR + v * L, V::load_masked(src + p * b.ld + v * L, mask));
                    }
            }
        } else {
            // Stored n x k: column j of the panel is contiguous in k. L x L tiles transposed
            // in registers; the rows past cols load as zeros, which is the padding.
            for (int64_t p0 = 0; p0 < kc; p0 += L) {
                const int steps = int(min64(L, kc - p0));
                for (int v = 0; v < NV; ++v)
                    transpose_tile<V>(b.p + (jr + v * L) * b.ld + p0, b.ld, lanes_left(cols, v * L, L), steps,
                                      dst + p0 * NR + v * L, NR, L);
            }
        }
    }
}

// ---- micro-kernel ---------------------------------------------------------------

// C tile (ROWS x cols, ldc) = alpha * sum_p a[p][0:ROWS] x b[p][0:NR] + beta * C tile.
//   a: packed A panel [kc][MR] (rows >= ROWS are padding), b: packed B panel [kc][NR].
// beta == 0 never reads C. ROWS is a template argument so that edge rows cost nothing;
// the column edge (cols < NR) is a masked writeback only.
template <class V, int ROWS>
void micro_kernel(int64_t kc, const typename V::T* __restrict a, const typename V::T* __restrict b,
                  typename V::T* __restrict c, int64_t ldc, int cols, typename V::T alpha, typename V::T beta) {
    using T = typename V::T;
    using reg = typename V::V;
    constexpr int MR = V::MR, NV = V::NV, L = V::L, NR = V::NR;
    reg acc[ROWS][NV];
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; ++p) {
        reg bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * L);
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r) {
            const reg ar = V::broadcast(a + r);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(ar, bv[v], acc[r][v]);
        }
        a += MR;
        b += NR;
    }
    // Writeback, one formula for full and masked vectors so every element rounds alike:
    // beta == 0: alpha*acc;  otherwise fma(alpha, acc, beta*C)  (beta == 1: fma(alpha, acc, C)).
    const reg va = V::set1(alpha), vb = V::set1(beta);
    const bool read_c = beta != T(0), scale_c = beta != T(1);
    if (cols == NR) {
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                T* out = c + r * ldc + v * L;
                reg x;
                if (!read_c) x = V::mul(va, acc[r][v]);
                else x = V::fmadd(va, acc[r][v], scale_c ? V::mul(vb, V::load(out)) : V::load(out));
                V::store(out, x);
            }
    } else {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            const int lanes = lanes_left(cols, v * L, L);
            if (lanes == 0) break;
            const auto mask = V::tail(lanes);
#pragma GCC unroll 16
            for (int r = 0; r < ROWS; ++r) {
                T* out = c + r * ldc + v * L;
                reg x;
                if (!read_c) x = V::mul(va, acc[r][v]);
                else {
                    const reg old = V::load_masked(out, mask);
                    x = V::fmadd(va, acc[r][v], scale_c ? V::mul(vb, old) : old);
                }
                V::store_masked(out, mask, x);
            }
        }
    }
}

template <class V>
using MicroKernel = void(int64_t kc, const typename V::T* a, const typename V::T* b, typename V::T* c, int64_t ldc,
                         int cols, typename V::T alpha, typename V::T beta);
// micro[rows - 1]: the kernel for an edge of `rows` rows (rows = MR is the common one).
template <class V>
struct MicroKernels {
    MicroKernel<V>* by_rows[V::MR];
};
template <class V, size_t... R>
constexpr MicroKernels<V> make_micro_kernels(std::index_sequence<R...>) {
    return {{&micro_kernel<V, int(R) + 1>...}};
}
template <class V>
constexpr MicroKernels<V> micro_kernels = make_micro_kernels<V>(std::make_index_sequence<V::MR>());

// ---- one thread, one block of C -------------------------------------------------

// Packing buffers for an m x n block: an mc x kc A block and a kc x nc B panel (at most).
template <class V>
int64_t work_elements(const GemmBlocking& bl, int64_t m, int64_t n, int64_t k) {
    const int64_t kc = min64(bl.kc, k);
    return round_up(round_up(min64(bl.mc, m), V::MR) * kc + round_up(min64(bl.nc, n), V::NR) * kc, 64);
}

// C (m x n) = alpha * op(A) (m x k) · B (k x n) + beta * C on the calling thread, where
// pack_b_block(pc, jc, kc, nc, out) writes B's rows [pc, pc+kc) and columns [jc, jc+nc) into
// pack_b's panel layout: from a stored op(B) (the overload below), or computed on the spot
// (an implicit-GEMM convolution lowers its input straight into the panels).
// bl.mc must be a multiple of MR and bl.nc one of NR (fit_gemm_blocking).
template <class V, class PackB>
void gemm_block(const GemmBlocking& bl, OpView<V> a, const PackB& pack_b_block, typename V::T* c, int64_t ldc,
                int64_t m, int64_t n, int64_t k, typename V::T alpha, typename V::T beta, typename V::T* work) {
    using T = typename V::T;
    constexpr int MR = V::MR, NR = V::NR;
    T* apack = work;
    T* bpack = work + round_up(min64(bl.mc, m), MR) * min64(bl.kc, k);
    for (int64_t jc = 0; jc < n; jc += bl.nc) {
        const int64_t nc = min64(bl.nc, n - jc);
        for (int64_t pc = 0; pc < k; pc += bl.kc) {
            const int64_t kc = min64(bl.kc, k - pc);
            pack_b_block(pc, jc, kc, nc, bpack);
            const T beta_block = pc == 0 ? beta : T(1);
            for (int64_t ic = 0; ic < m; ic += bl.mc) {
                const int64_t mc = min64(bl.mc, m - ic);
                pack_a<V>(a.at(ic, pc), mc, kc, apack);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int cols = int(min64(NR, nc - jr));
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int rows = int(min64(MR, mc - ir));
                        micro_kernels<V>.by_rows[rows - 1](kc, apack + ir * kc, bpack + jr * kc,
                                                           c + (ic + ir) * ldc + jc + jr, ldc, cols, alpha,
                                                           beta_block);
                    }
                }
            }
        }
    }
}

template <class V>
void gemm_block(const GemmBlocking& bl, OpView<V> a, OpView<V> b, typename V::T* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, typename V::T alpha, typename V::T beta, typename V::T* work) {
    const auto pack_stored = [b](int64_t pc, int64_t jc, int64_t kc, int64_t nc, typename V::T* out) {
        pack_b<V>(b.at(pc, jc), kc, nc, out);
    };
    gemm_block<V>(bl, a, pack_stored, c, ldc, m, n, k, alpha, beta, work);
}

// ---- matrix-vector shapes (m == 1 or n == 1) -----------------------------------------

// y[r*incy] = alpha * sum_p x[r*ldx + p] * v[p] + beta * y[r*incy] for R rows at once.
// Each row keeps its own two accumulators, so a row's result does not depend on R.
template <class V, int R>
void dot_rows(const typename V::T* x, int64_t ldx, const typename V::T* v, int64_t k, typename V::T alpha,
              typename V::T beta, typename V::T* y, int64_t incy) {
    using T = typename V::T;
    using reg = typename V::V;
    constexpr int L = V::L;
    reg acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V::zero();
    int64_t p = 0;
    for (; p + 2 * L <= k; p += 2 * L) {
        const reg v0 = V::load(v + p), v1 = V::load(v + p + L);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            acc[r][0] = V::fmadd(V::load(x + r * ldx + p), v0, acc[r][0]);
            acc[r][1] = V::fmadd(V::load(x + r * ldx + p + L), v1, acc[r][1]);
        }
    }
    if (p < k) {
        const auto m0 = V::tail(lanes_left(k, p, L)), m1 = V::tail(lanes_left(k, p + L, L));
        const reg v0 = V::load_masked(v + p, m0), v1 = V::load_masked(v + p + L, m1);
        for (int r = 0; r < R; ++r) {
            acc[r][0] = V::fmadd(V::load_masked(x + r * ldx + p, m0), v0, acc[r][0]);
            acc[r][1] = V::fmadd(V::load_masked(x + r * ldx + p + L, m1), v1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; ++r) {
        const T s = V::reduce_add(V::add(acc[r][0], acc[r][1]));
        T& out = y[r * incy];
        out = beta == T(0) ? alpha * s : alpha * s + beta * out;
    }
}

// y[j*incy] = alpha * sum_p x[p*ldx + j] * v[p] + beta * y[j*incy] for j < cols <= CH*L.
template <class V, int CH>
void axpy_columns(const typename V::T* x, int64_t ldx, const typename V::T* v, int64_t k, int cols,
                  typename V::T alpha, typename V::T beta, typename V::T* y, int64_t incy) {
    using T = typename V::T;
    using reg = typename V::V;
    constexpr int L = V::L;
    reg acc[CH];
    for (int i = 0; i < CH; ++i) acc[i] = V::zero();
    if (cols == CH * L) {
        for (int64_t p = 0; p < k; ++p) {
            const reg vp = V::set1(v[p]);
#pragma GCC unroll 8
            for (int i = 0; i < CH; ++i) acc[i] = V::fmadd(V::load(x + p * ldx + i * L), vp, acc[i]);
        }
    } else {
        for (int64_t p = 0; p < k; ++p) {
            const reg vp = V::set1(v[p]);
            for (int i = 0; i < CH; ++i) {
                const int lanes = lanes_left(cols, i * L, L);
                if (lanes == 0) break;
                acc[i] = V::fmadd(V::load_masked(x + p * ldx + i * L, V::tail(lanes)), vp, acc[i]);
            }
        }
    }
    alignas(64) T sums[CH * L];
    for (int i = 0; i < CH; ++i) V::store(sums + i * L, acc[i]);
    for (int j = 0; j < cols; ++j) {
        T& out = y[j * incy];
        out = beta == T(0) ? alpha * sums[j] : alpha * sums[j] + beta * out;
    }
}

// y (rows, stride incy) = alpha * X · v + beta * y, X(r, p) = x[r*ldx + p] when
// rows_contiguous, else x[p*ldx + r]; v contiguous (k). Threads split whole row groups.
template <class V>
void gemv(const typename V::T* x, int64_t ldx, bool rows_contiguous, const typename V::T* v, int64_t rows,
          int64_t k, typename V::T alpha, typename V::T beta, typename V::T* y, int64_t incy, int threads) {
    constexpr int kDotRows = 4, kAxpyVectors = 8, kAxpyCols = kAxpyVectors * V::L;
    const int64_t unit = rows_contiguous ? kDotRows : kAxpyCols;
    const int64_t units = ceil_div(rows, unit);
    auto run_units = [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
            const int64_t r0 = u * unit, count = min64(unit, rows - r0);
            if (rows_contiguous) {
                if (count == kDotRows)
                    dot_rows<V, kDotRows>(x + r0 * ldx, ldx, v, k, alpha, beta, y + r0 * incy, incy);
                else
                    for (int64_t r = r0; r < r0 + count; ++r)
                        dot_rows<V, 1>(x + r * ldx, ldx, v, k, alpha, beta, y + r * incy, incy);
            } else {
                axpy_columns<V, kAxpyVectors>(x + r0, ldx, v, k, int(count), alpha, beta, y + r0 * incy, incy);
            }
        }
    };
    if (threads > 1 && double(rows) * double(k) >= V::kParallelFlops / 2 && units > 1) {
        const int nt = int(min64(threads, units));
#pragma omp parallel num_threads(nt)
        {
            const int t = omp_get_thread_num(), got = omp_get_num_threads();
            run_units(units * t / got, units * (t + 1) / got);
        }
    } else {
        run_units(0, units);
    }
}

// ---- one matrix ----------------------------------------------------------------------

// The thread grid tm x tn (tm * tn = threads) for an m x n product: the smallest
// per-thread block (counted in whole MR x NR tiles), then the least packing.
template <class V>
void choose_grid(int64_t m, int64_t n, int threads, int* tm, int* tn) {
    const int64_t row_panels = ceil_div(m, V::MR), col_panels = ceil_div(n, V::NR);
    int64_t best_tiles = INT64_MAX, best_packing = INT64_MAX;
    for (int rows = 1; rows <= threads; ++rows) {
        if (threads % rows) continue;
        const int cols = threads / rows;
        const int64_t tiles = ceil_div(row_panels, rows) * ceil_div(col_panels, cols);
        const int64_t packing = cols * m + rows * n;  // A packed once per grid column, B per grid row
        if (tiles < best_tiles || (tiles == best_tiles && packing < best_packing)) {
            best_tiles = tiles;
            best_packing = packing;
            *tm = rows;
            *tn = cols;
        }
    }
}

// C (m x n, ldc) = alpha * op(A) · op(B) + beta * C, with up to `threads` threads.
template <class V>
void gemm_matrix(const GemmBlocking& bl, OpView<V> a, OpView<V> b, typename V::T* c, int64_t ldc, int64_t m,
                 int64_t n, int64_t k, typename V::T alpha, typename V::T beta, int threads) {
    using T = typename V::T;
    if (k == 0 || alpha == T(0)) {  // C = beta * C; beta == 0 writes zeros without reading C
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
        return;
    }
    if (m == 1 || n == 1) {
        // n == 1: y = C[:, 0] (stride ldc), X = op(A), v = op(B)[:, 0].
        // m == 1: y = C[0, :] (stride 1),   X = op(B)^T, v = op(A)[0, :].
        const bool column = n == 1;
        const OpView<V> mat = column ? a : OpView<V>{b.p, b.ld, !b.trans};
        const T* vec = column ? b.p : a.p;
        const int64_t vec_stride = column ? (b.trans ? 1 : b.ld) : (a.trans ? a.ld : 1);
        if (vec_stride != 1) {
            T* packed = thread_scratch<T>(Scratch::gemm_panels, round_up(k, 2 * V::L));
            for (int64_t p = 0; p < k; ++p) packed[p] = vec[p * vec_stride];
            vec = packed;
        }
        gemv<V>(mat.p, mat.ld, !mat.trans, vec, column ? m : n, k, alpha, beta, c, column ? ldc : 1, threads);
        return;
    }
    if (2.0 * double(m) * double(n) * double(k) < V::kParallelFlops) threads = 1;
    int tm = 1, tn = 1;
    choose_grid<V>(m, n, threads, &tm, &tn);
    const int64_t row_panels = ceil_div(m, V::MR), col_panels = ceil_div(n, V::NR);
    const int64_t per_thread =
        work_elements<V>(bl, ceil_div(row_panels, tm) * V::MR, ceil_div(col_panels, tn) * V::NR, k);
    T* work = thread_scratch<T>(Scratch::gemm_panels, per_thread * tm * tn);
    if (tm * tn == 1) {
        gemm_block<V>(bl, a, b, c, ldc, m, n, k, alpha, beta, work);
        return;
    }
    // The runtime may give fewer threads than asked: each thread takes cells t, t + got, ...
#pragma omp parallel num_threads(tm * tn)
    {
        const int got = omp_get_num_threads();
        for (int cell = omp_get_thread_num(); cell < tm * tn; cell += got) {
            const int ti = cell / tn, tj = cell % tn;
            const int64_t i0 = row_panels * ti / tm * V::MR, i1 = min64(m, row_panels * (ti + 1) / tm * V::MR);
            const int64_t j0 = col_panels * tj / tn * V::NR, j1 = min64(n, col_panels * (tj + 1) / tn * V::NR);
            if (i0 >= i1 || j0 >= j1) continue;
            gemm_block<V>(bl, a.at(i0, 0), b.at(0, j0), c + i0 * ldc + j0, ldc, i1 - i0, j1 - j0, k, alpha, beta,
                          work + per_thread * cell);
        }
    }
}

// The variant's entry, after check_gemm_args: every batch, threads from OpenMP.
template <class V>
void gemm_batched(const GemmArgs& g, const void* av, const void* bv, void* cv) {
    using T = typename V::T;
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    // Inside someone else's parallel region a nested one would get one thread anyway.
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    const T alpha = T(g.alpha), beta = T(g.beta);
    const GemmBlocking bl = gemm_blocking(V::kShape);
    auto one = [&](int64_t i, int nt) {
        gemm_matrix<V>(bl, OpView<V>{static_cast<const T*>(av) + i * g.stride_a, g.lda, g.trans_a},
                       OpView<V>{static_cast<const T*>(bv) + i * g.stride_b, g.ldb, g.trans_b},
                       static_cast<T*>(cv) + i * g.stride_c, g.ldc, g.m, g.n, g.k, alpha, beta, nt);
    };
    // Many matrices, each too small to share well: one matrix per thread at a time.
    const double flops = 2.0 * double(g.m) * double(g.n) * double(g.k);
    if (threads > 1 && g.batch >= threads && (flops < 8 * V::kParallelFlops || g.batch % threads == 0)) {
        std::exception_ptr error;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int64_t i = 0; i < g.batch; ++i) {
            try {
                one(i, 1);
            } catch (...) {
#pragma omp critical(minigen_gemm_error)
                if (!error) error = std::current_exception();
            }
        }
        if (error) std::rethrow_exception(error);
        return;
    }
    for (int64_t i = 0; i < g.batch; ++i) one(i, threads);
}

}  // namespace gemm_blocked
}  // namespace mg::kernels::cpu
