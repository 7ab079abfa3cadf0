// Hand-written GEMM kernels (kernels/gemm.h) on the GPU, a progression in five steps:
//   C[b] (M x N, ldc) = alpha * op(A[b]) (M x K) · op(B[b]) (K x N) + beta * C[b], row-major.
//
//   naive      one thread per C element, K products straight from global memory.
//              Every A and B element is read M or N times: memory-bound (~1/10 of peak).
//   tiled      32x32 tiles of A and B staged in shared memory by the whole block, one
//              C element per thread: each global element is read once per tile, reuse
//              factor 32. Now the shared-memory loads bound it (2 loads per FMA).
//   regblock   128x128 C tile per block of 256 threads, 8x8 C elements per thread held
//              in registers, K in steps of 8: each thread loads 8 A + 8 B values from
//              shared memory for 64 FMAs (outer product), so arithmetic, not memory,
//              is the limit. The classic register-blocked SGEMM.
//   wmma_tf32  (float32 only) the tensor cores through nvcuda::wmma, m16n16k8 TF32
//              fragments, 64x64 C tile per 4-warp block. Inputs are rounded to TF32
//              (10-bit mantissa, relative 2^-11) before the multiply; products
//              accumulate in float32. PRECISION IS TF32, NOT FP32: expect relative
//              errors near 1e-3 of sum |a||b|. For speed where that is acceptable.
//   wmma_bf16  (float32 only) mixed precision: float32 data, BF16 multiplies (wmma
//              m16n16k16 bf16 fragments), float32 accumulation. BF16 keeps 8
//              significant bits (relative rounding 2^-8 per input, 2^-7 per product;
//              the product itself is exact in float32), so PRECISION IS BF16: expect
//              errors up to ~8e-3 of sum |a||b|. Beyond the TF32 kernel it takes the
//              next steps of a tensor-core GEMM:
//                - a 128x128 C tile per 8-warp block, each warp 64x32 (4x2 fragments):
//                  every A fragment is used twice and every B fragment four times per
//                  load from shared memory, and each staged K step feeds 128x128x32 MACs;
//                - K in steps of 32, double-buffered: while the warps multiply one step
//                  out of one shared buffer, each thread holds its share of the next
//                  step in registers (issued before the multiplies, so the global
//                  latency hides behind them) and then rounds it to BF16 into the other
//                  buffer; one __syncthreads per step orders both directions;
//                - each operand is staged in the orientation it is stored in (wmma reads
//                  a transposed operand as col_major), so the copy is row by row with
//                  float4 loads where the matrix is 16-byte aligned (leading dimension
//                  a multiple of 4), for every transpose case; 16 bytes of padding per
//                  staged row put 8 consecutive rows on distinct banks for the fragment
//                  loads.
//              ptxas gives it ~175-220 registers a thread (no spills), so one block
//              (8 warps) runs per SM: the register prefetch, not a second block, is
//              what overlaps the global loads with the tensor-core work.
//
// Batches run on gridDim.z (in chunks of 65535). Every kernel zero-fills out-of-range
// tile loads and guards its stores, so any M, N, K, leading dimension and transpose
// works. beta == 0 never reads C (it may hold NaN garbage).
#include <cstdint>
#include <type_traits>

#include <cuda_bf16.h>
#include <mma.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <class T>
__device__ __forceinline__ void batch_operands(const GemmArgs& g, int64_t batch, const T* a, const T* b, T* c,
                                               Operand<T>& A, Operand<T>& B, T*& C) {
    A = {a + batch * g.stride_a, g.lda, g.trans_a};
    B = {b + batch * g.stride_b, g.ldb, g.trans_b};
    C = c + batch * g.stride_c;
}

// ---- naive: one thread per C element ------------------------------------------------

template <class T>
__global__ void gemm_naive_kernel(GemmArgs g, int64_t first_batch, const T* a, const T* b, T* c) {
    const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // x -> columns: coalesced C and B
    const int64_t i = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
    if (i < g.m && j < g.n) gemm_element(g, first_batch + blockIdx.z, a, b, c, i, j);
}

// ---- tiled: 32x32 shared-memory tiles ---------------------------------------------------

constexpr int kTile = 32;

template <class T>
__global__ void __launch_bounds__(kTile * kTile) gemm_tiled_kernel(GemmArgs g, int64_t first_batch, const T* a,
                                                                   const T* b, T* c) {
    __shared__ T As[kTile][kTile + 1];  // [i][p]; +1: the transposed stores hit distinct banks
    __shared__ T Bs[kTile][kTile + 1];  // [p][j]
    Operand<T> A, B;
    T* C;
    batch_operands(g, first_batch + blockIdx.z, a, b, c, A, B, C);
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
    T acc = T(0);
    for (int64_t k0 = 0; k0 < g.k; k0 += kTile) {
        // Consecutive threads (tx) read consecutive addresses whichever way A, B are stored.
        {
            const int64_t i = row0 + (A.trans ? tx : ty), p = k0 + (A.trans ? ty : tx);
            As[A.trans ? tx : ty][A.trans ? ty : tx] = (i < g.m && p < g.k) ? A.a_at(i, p) : T(0);
        }
        {
            const int64_t p = k0 + (B.trans ? tx : ty), j = col0 + (B.trans ? ty : tx);
            Bs[B.trans ? tx : ty][B.trans ? ty : tx] = (p < g.k && j < g.n) ? B.b_at(p, j) : T(0);
        }
        __syncthreads();
#pragma unroll
        for (int p = 0; p < kTile; ++p) acc += As[ty][p] * Bs[p][tx];
        __syncthreads();
    }
    const int64_t i = row0 + ty, j = col0 + tx;
    if (i < g.m && j < g.n) store_c(C + i * g.ldc + j, acc, T(g.alpha), T(g.beta));
}

// ---- regblock: 128x128x8 block tile, 8x8 per thread ---------------------------------------

constexpr int kRbM = 128, kRbN = 128, kRbK = 8, kRbThreads = 256, kRbMicro = 8;

// Stages the kRbK-deep slice at k0 of op(A) (a_side; x = m) or op(B) (x = n) into S[p][x]:
// 4 elements per thread (1024 per tile), zero outside x_size x k_size, consecutive threads
// walking the stored matrix's contiguous direction (x for A stored K x M or B stored K x N,
// else k).
template <bool a_side, class T>
__device__ __forceinline__ void stage_k_major(T (&S)[kRbK][kRbM], const Operand<T>& M, int t, int64_t x0, int64_t k0,
                                              int64_t x_size, int64_t k_size) {
    static_assert(kRbM == kRbN && kRbK * kRbM == 4 * kRbThreads);
    const bool x_contiguous = a_side ? M.trans : !M.trans;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        int x, p;
        if (x_contiguous) { p = t / 32; x = (t % 32) * 4 + e; }
        else { x = t / 2; p = (t % 2) * 4 + e; }
        const int64_t gx = x0 + x, gp = k0 + p;
        S[p][x] = (gx < x_size && gp < k_size) ? (a_side ? M.a_at(gx, gp) : M.b_at(gp, gx)) : T(0);
    }
}

template <class T>
__global__ void __launch_bounds__(kRbThreads) gemm_regblock_kernel(GemmArgs g, int64_t first_batch, const T* a,
                                                                   const T* b, T* c) {
    __shared__ T As[kRbK][kRbM];  // k-major: a thread's 8 rows are contiguous for one k
    __shared__ T Bs[kRbK][kRbN];
    Operand<T> A, B;
    T* C;
    batch_operands(g, first_batch + blockIdx.z, a, b, c, A, B, C);
    const int t = threadIdx.x;
    const int64_t row0 = int64_t(blockIdx.y) * kRbM, col0 = int64_t(blockIdx.x) * kRbN;
    // Which 8x8 block of the tile this thread owns.
    const int tr = t / (kRbN / kRbMicro), tc = t % (kRbN / kRbMicro);

    T acc[kRbMicro][kRbMicro];
#pragma unroll
    for (int i = 0; i < kRbMicro; ++i)
#pragma unroll
        for (int j = 0; j < kRbMicro; ++j) acc[i][j] = T(0);

    for (int64_t k0 = 0; k0 < g.k; k0 += kRbK) {
        stage_k_major<true>(As, A, t, row0, k0, g.m, g.k);
        stage_k_major<false>(Bs, B, t, col0, k0, g.n, g.k);
        __syncthreads();
#pragma unroll
        for (int p = 0; p < kRbK; ++p) {
            T ra[kRbMicro], rb[kRbMicro];
#pragma unroll
            for (int i = 0; i < kRbMicro; ++i) ra[i] = As[p][tr * kRbMicro + i];
#pragma unroll
            for (int j = 0; j < kRbMicro; ++j) rb[j] = Bs[p][tc * kRbMicro + j];
#pragma unroll
            for (int i = 0; i < kRbMicro; ++i)
#pragma unroll
                for (int j = 0; j < kRbMicro; ++j) acc[i][j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    const T alpha = T(g.alpha), beta = T(g.beta);
#pragma unroll
    for (int i = 0; i < kRbMicro; ++i) {
        const int64_t gi = row0 + tr * kRbMicro + i;
        if (gi >= g.m) break;
#pragma unroll
        for (int j = 0; j < kRbMicro; ++j) {
            const int64_t gj = col0 + tc * kRbMicro + j;
            if (gj < g.n) store_c(C + gi * g.ldc + gj, acc[i][j], alpha, beta);
        }
    }
}

// ---- wmma_tf32: tensor cores, TF32 inputs, float32 accumulation ------------------------

constexpr int kWmM = 64, kWmN = 64, kWmK = 16, kWmThreads = 128;
constexpr int kWmPadA = kWmK + 4, kWmPadB = kWmN + 4;  // ldm multiples of 4 floats, rows 32-byte aligned

// Stages the R x C tile of op(M) at (r0, c0) into S[r][c] (1024 elements, 8 per thread),
// rounded to TF32 and zero outside rows x cols. Consecutive threads walk M as it is
// stored: r fastest when M is transposed, c fastest otherwise. (op(M)(r, c) is a_at for
// either operand: b_at is the same formula.)
template <int R, int C, int Ld>
__device__ __forceinline__ void stage_tf32(float (&S)[R][Ld], const Operand<float>& M, int t, int64_t r0, int64_t c0,
                                           int64_t rows, int64_t cols) {
    static_assert(R * C == 8 * kWmThreads);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
        const int idx = e * kWmThreads + t;
        const int r = M.trans ? idx % R : idx / C, c = M.trans ? idx / R : idx % C;
        const int64_t gr = r0 + r, gc = c0 + c;
        S[r][c] = nvcuda::wmma::__float_to_tf32((gr < rows && gc < cols) ? M.a_at(gr, gc) : 0.0f);
    }
}

__global__ void __launch_bounds__(kWmThreads, 3) gemm_wmma_tf32_kernel(GemmArgs g, int64_t first_batch,
                                                                    const float* a, const float* b, float* c) {
    using namespace nvcuda;
    __shared__ __align__(32) float As[kWmM][kWmPadA];  // [m][k], already rounded to TF32
    __shared__ __align__(32) float Bs[kWmK][kWmPadB];  // [k][n]
    __shared__ __align__(32) float Cs[kWmM][kWmPadB];  // the accumulators, for the epilogue
    Operand<float> A, B;
    float* C;
    batch_operands(g, first_batch + blockIdx.z, a, b, c, A, B, C);
    const int t = threadIdx.x, warp = t / 32;
    const int warp_m = warp / 2, warp_n = warp % 2;  // each warp: a 32x32 quarter of the tile
    const int64_t row0 = int64_t(blockIdx.y) * kWmM, col0 = int64_t(blockIdx.x) * kWmN;

    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int64_t k0 = 0; k0 < g.k; k0 += kWmK) {
        stage_tf32<kWmM, kWmK>(As, A, t, row0, k0, g.m, g.k);
        stage_tf32<kWmK, kWmN>(Bs, B, t, k0, col0, g.k, g.n);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kWmK; kk += 8) {
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], &As[warp_m * 32 + i * 16][kk], kWmPadA);
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &Bs[kk][warp_n * 32 + j * 16], kWmPadB);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(&Cs[warp_m * 32 + i * 16][warp_n * 32 + j * 16], acc[i][j], kWmPadB,
                                    wmma::mem_row_major);
    __syncthreads();
    const float alpha = float(g.alpha), beta = float(g.beta);
    for (int idx = t; idx < kWmM * kWmN; idx += kWmThreads) {
        const int m = idx / kWmN, n = idx % kWmN;
        const int64_t gi = row0 + m, gj = col0 + n;
        if (gi < g.m && gj < g.n) store_c(C + gi * g.ldc + gj, Cs[m][n], alpha, beta);
    }
}

// ---- wmma_bf16: tensor cores, BF16 inputs, float32 accumulation, double-buffered -------

constexpr int kBfM = 128, kBfN = 128, kBfK = 32, kBfThreads = 256;
constexpr int kBfWarpM = 64, kBfWarpN = 32;  // 8 warps: 2 along M x 4 along N
constexpr int kBfFragsM = kBfWarpM / 16, kBfFragsN = kBfWarpN / 16;  // 4 x 2 accumulators per warp
constexpr int kBfPad = 8;  // bf16 elements added to each staged row: ldm stays a multiple of 8 (16 bytes)
// A stored tile is 128 x 32 or 32 x 128 floats (B likewise): room for the larger padded one.
constexpr int kBfTileElems = kBfM * (kBfK + kBfPad) > kBfK * (kBfM + kBfPad) ? kBfM * (kBfK + kBfPad)
                                                                           : kBfK * (kBfM + kBfPad);
constexpr int kBfSmemBytes = 2 * 2 * kBfTileElems * int(sizeof(__nv_bfloat16));  // [stage][A, B]
constexpr int kBfGroups = kBfM * kBfK / (4 * kBfThreads);  // 4-float groups per thread per operand and step
constexpr int kBfScratchLd = 16 + 4;  // the epilogue's per-warp 16x16 float staging, ldm a multiple of 4
static_assert(kBfM == kBfN, "one padded tile size serves A and B");
static_assert((kBfM / kBfWarpM) * (kBfN / kBfWarpN) * 32 == kBfThreads, "the warps cover the C tile");
static_assert(kBfM * kBfK == 4 * kBfGroups * kBfThreads, "every thread copies whole 4-float groups");
static_assert((kBfThreads / 32) * 16 * kBfScratchLd * int(sizeof(float)) <= kBfSmemBytes,
              "the epilogue staging fits in the tile buffers");
static_assert(kBfSmemBytes <= 48 * 1024, "static shared memory limit");

// Thread t's share of one stored tile, kRows x kCols floats of a matrix with leading
// dimension ld starting at (row0, col0): groups of 4 consecutive elements, consecutive
// threads along a row (coalesced). Elements at rows >= rows_end or columns >= cols_end
// read as zero. `vec`: the matrix allows aligned float4 loads.
template <int kRows, int kCols>
__device__ __forceinline__ void load_stored_tile(const float* p, int64_t ld, int64_t row0, int64_t rows_end,
                                                 int64_t col0, int64_t cols_end, bool vec,
                                                 float (&v)[4 * kBfGroups]) {
    static_assert(kRows * kCols == 4 * kBfGroups * kBfThreads && kCols % 4 == 0, "whole groups per thread");
    constexpr int kGroupsPerRow = kCols / 4;
#pragma unroll
    for (int e = 0; e < kBfGroups; ++e) {
        const int group = e * kBfThreads + int(threadIdx.x);
        const int64_t r = row0 + group / kGroupsPerRow, col = col0 + (group % kGroupsPerRow) * 4;
        if (vec && r < rows_end && col + 3 < cols_end) {
            const float4 x = *reinterpret_cast<const float4*>(p + r * ld + col);
            v[4 * e + 0] = x.x, v[4 * e + 1] = x.y, v[4 * e + 2] = x.z, v[4 * e + 3] = x.w;
        } else {
#pragma unroll
            for (int q = 0; q < 4; ++q)
                v[4 * e + q] = (r < rows_end && col + q < cols_end) ? p[r * ld + col + q] : 0.0f;
        }
    }
}

// The same share rounded to BF16 (round to nearest even) into the staged tile, whose
// rows are kCols + kBfPad elements apart.
template <int kCols>
__device__ __forceinline__ void store_stored_tile(__nv_bfloat16* s, const float (&v)[4 * kBfGroups]) {
    constexpr int kGroupsPerRow = kCols / 4, kLd = kCols + kBfPad;
#pragma unroll
    for (int e = 0; e < kBfGroups; ++e) {
        const int group = e * kBfThreads + int(threadIdx.x);
        const int r = group / kGroupsPerRow, col = (group % kGroupsPerRow) * 4;
        // col is a multiple of 4 and kLd of 8: the pair stores are 4-byte aligned.
        __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(s + r * kLd + col);
        dst[0] = __floats2bfloat162_rn(v[4 * e + 0], v[4 * e + 1]);
        dst[1] = __floats2bfloat162_rn(v[4 * e + 2], v[4 * e + 3]);
    }
}

template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kBfThreads) gemm_wmma_bf16_kernel(GemmArgs g, int64_t first_batch, const float* a,
                                                                    const float* b, float* c) {
    using namespace nvcuda;
    // Stored shapes of the tiles: A is M x K (K x M when transposed), B is K x N (N x K).
    // A transposed operand, staged as stored, is exactly wmma's col_major fragment.
    constexpr int kRowsA = kTransA ? kBfK : kBfM, kColsA = kTransA ? kBfM : kBfK;
    constexpr int kRowsB = kTransB ? kBfN : kBfK, kColsB = kTransB ? kBfK : kBfN;
    constexpr int kLdA = kColsA + kBfPad, kLdB = kColsB + kBfPad;
    using LayoutA = std::conditional_t<kTransA, wmma::col_major, wmma::row_major>;
    using LayoutB = std::conditional_t<kTransB, wmma::col_major, wmma::row_major>;

    // Two stages of (A, B) tiles; after the K loop the same bytes stage the epilogue.
    __shared__ __align__(128) unsigned char smem[kBfSmemBytes];
    __nv_bfloat16* const tiles = reinterpret_cast<__nv_bfloat16*>(smem);

    Operand<float> A, B;
    float* C;
    batch_operands(g, first_batch + blockIdx.z, a, b, c, A, B, C);
    const int t = threadIdx.x, warp = t / 32, lane = t % 32;
    const int warp_m = warp / (kBfN / kBfWarpN), warp_n = warp % (kBfN / kBfWarpN);
    const int64_t row0 = int64_t(blockIdx.y) * kBfM, col0 = int64_t(blockIdx.x) * kBfN;
    // float4 loads need every row start 16-byte aligned: the base and ld * 4 bytes.
    const bool vec_a = reinterpret_cast<uintptr_t>(A.p) % 16 == 0 && A.ld % 4 == 0;
    const bool vec_b = reinterpret_cast<uintptr_t>(B.p) % 16 == 0 && B.ld % 4 == 0;

    // This thread's share of the K step starting at k0, as float32 in registers.
    float next_a[4 * kBfGroups], next_b[4 * kBfGroups];
    auto load_step = [&](int64_t k0) {
        if constexpr (kTransA) load_stored_tile<kRowsA, kColsA>(A.p, A.ld, k0, g.k, row0, g.m, vec_a, next_a);
        else load_stored_tile<kRowsA, kColsA>(A.p, A.ld, row0, g.m, k0, g.k, vec_a, next_a);
        if constexpr (kTransB) load_stored_tile<kRowsB, kColsB>(B.p, B.ld, col0, g.n, k0, g.k, vec_b, next_b);
        else load_stored_tile<kRowsB, kColsB>(B.p, B.ld, k0, g.k, col0, g.n, vec_b, next_b);
    };
    auto store_step = [&](int stage) {
        store_stored_tile<kColsA>(tiles + (2 * stage + 0) * kBfTileElems, next_a);
        store_stored_tile<kColsB>(tiles + (2 * stage + 1) * kBfTileElems, next_b);
    };

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kBfFragsM][kBfFragsN];
#pragma unroll
    for (int i = 0; i < kBfFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kBfFragsN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    const int64_t steps = (g.k + kBfK - 1) / kBfK;
    if (steps > 0) {
        load_step(0);
        store_step(0);
    }
    __syncthreads();
    for (int64_t step = 0; step < steps; ++step) {
        const int stage = int(step & 1);
        const bool has_next = step + 1 < steps;
        // Issue the next step's global loads first: they complete while the MMAs run.
        if (has_next) load_step((step + 1) * kBfK);

        const __nv_bfloat16* As = tiles + (2 * stage + 0) * kBfTileElems;
        const __nv_bfloat16* Bs = tiles + (2 * stage + 1) * kBfTileElems;
#pragma unroll
        for (int kk = 0; kk < kBfK; kk += 16) {
            // The B fragments stay for the whole row of A fragments; one A fragment is live
            // at a time (registers: the accumulators and the prefetched step come first).
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, LayoutB> fb[kBfFragsN];
#pragma unroll
            for (int j = 0; j < kBfFragsN; ++j) {
                const int n = warp_n * kBfWarpN + j * 16;
                wmma::load_matrix_sync(fb[j], kTransB ? Bs + n * kLdB + kk : Bs + kk * kLdB + n, kLdB);
            }
#pragma unroll
            for (int i = 0; i < kBfFragsM; ++i) {
                const int m = warp_m * kBfWarpM + i * 16;
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, LayoutA> fa;
                wmma::load_matrix_sync(fa, kTransA ? As + kk * kLdA + m : As + m * kLdA + kk, kLdA);
#pragma unroll
                for (int j = 0; j < kBfFragsN; ++j) wmma::mma_sync(acc[i][j], fa, fb[j], acc[i][j]);
            }
        }

        // The other stage was last read in the previous step, which every warp finished
        // before the barrier that ended it; this barrier publishes the new stage and
        // ends this step's reads before the next step overwrites this stage.
        if (has_next) store_step(stage ^ 1);
        __syncthreads();
    }

    // Epilogue: each warp stages one 16x16 accumulator at a time in its own slice of the
    // (now idle) tile memory, then its lanes apply alpha, beta with guarded stores; a half
    // warp writes 16 consecutive floats of a row.
    float* scratch = reinterpret_cast<float*>(smem) + warp * 16 * kBfScratchLd;
    const float alpha = float(g.alpha), beta = float(g.beta);
#pragma unroll
    for (int i = 0; i < kBfFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kBfFragsN; ++j) {
            wmma::store_matrix_sync(scratch, acc[i][j], kBfScratchLd, wmma::mem_row_major);
            __syncwarp();
            const int64_t frag_row0 = row0 + warp_m * kBfWarpM + i * 16;
            const int64_t frag_col0 = col0 + warp_n * kBfWarpN + j * 16;
#pragma unroll
            for (int e = 0; e < 8; ++e) {
                const int idx = e * 32 + lane, r = idx / 16, col = idx % 16;
                const int64_t gi = frag_row0 + r, gj = frag_col0 + col;
                if (gi < g.m && gj < g.n) store_c(C + gi * g.ldc + gj, scratch[r * kBfScratchLd + col], alpha, beta);
            }
            __syncwarp();  // all lanes read the slice before the next fragment overwrites it
        }
}

using WmmaBf16Kernel = void (*)(GemmArgs, int64_t, const float*, const float*, float*);

WmmaBf16Kernel wmma_bf16_kernel_for(bool trans_a, bool trans_b) {
    if (trans_a) return trans_b ? gemm_wmma_bf16_kernel<true, true> : gemm_wmma_bf16_kernel<true, false>;
    return trans_b ? gemm_wmma_bf16_kernel<false, true> : gemm_wmma_bf16_kernel<false, false>;
}

// ---- launch -----------------------------------------------------------------------------

constexpr int64_t kMaxGridZ = 65535;

template <class T>
void gemm_as(GemmKernel kernel, const GemmArgs& g, const T* a, const T* b, T* c) {
    cudaStream_t stream = current_stream();
    for (int64_t first = 0; first < g.batch; first += kMaxGridZ) {
        const unsigned batches = unsigned(g.batch - first < kMaxGridZ ? g.batch - first : kMaxGridZ);
        auto blocks = [&](int64_t tile_m, int64_t tile_n) {
            return dim3(unsigned((g.n + tile_n - 1) / tile_n), unsigned((g.m + tile_m - 1) / tile_m), batches);
        };
        switch (kernel) {
            case GemmKernel::Naive:
                gemm_naive_kernel<T><<<blocks(16, 16), dim3(16, 16), 0, stream>>>(g, first, a, b, c);
                break;
            case GemmKernel::Tiled:
                gemm_tiled_kernel<T><<<blocks(kTile, kTile), dim3(kTile, kTile), 0, stream>>>(g, first, a, b, c);
                break;
            case GemmKernel::RegisterBlocked:
                gemm_regblock_kernel<T><<<blocks(kRbM, kRbN), kRbThreads, 0, stream>>>(g, first, a, b, c);
                break;
            case GemmKernel::WmmaTf32:
                if constexpr (std::is_same_v<T, float>)
                    gemm_wmma_tf32_kernel<<<blocks(kWmM, kWmN), kWmThreads, 0, stream>>>(g, first, a, b, c);
                else
                    fail("cuda gemm wmma_tf32", "TF32 tensor cores take float32 only");
                break;
            case GemmKernel::WmmaBf16:
                if constexpr (std::is_same_v<T, float>)
                    wmma_bf16_kernel_for(g.trans_a, g.trans_b)<<<blocks(kBfM, kBfN), kBfThreads, 0, stream>>>(
                        g, first, a, b, c);
                else
                    fail("cuda gemm wmma_bf16", "the BF16 kernel takes float32 data only");
                break;
        }
        check_launch("cuda gemm");
    }
}

}  // namespace

void launch_gemm(GemmKernel kernel, DType t, const GemmArgs& g, const void* a, const void* b, void* c) {
    if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
    if ((g.m + 15) / 16 > int64_t(INT32_MAX) || (g.n + 15) / 16 > int64_t(INT32_MAX))
        fail("cuda gemm", "matrix too large for the grid");
    if ((g.m + 15) / 16 > 65535) fail("cuda gemm", "m too large for gridDim.y (at most 1048560 rows)");
    dispatch_float(t, "cuda gemm", [&](auto tag) {
        using T = decltype(tag);
        gemm_as<T>(kernel, g, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c));
    });
}

}  // namespace mg::kernels::cuda
