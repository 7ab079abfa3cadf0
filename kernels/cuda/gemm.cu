// Hand-written GEMM kernels (kernels/gemm.h) on the GPU, a progression in four steps:
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
//
// Batches run on gridDim.z (in chunks of 65535). Every kernel zero-fills out-of-range
// tile loads and guards its stores, so any M, N, K, leading dimension and transpose
// works. beta == 0 never reads C (it may hold NaN garbage).
#include <mma.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <class T>
__device__ __forceinline__ void batch_operands(const GemmDesc& g, int64_t batch, const T* a, const T* b, T* c,
                                               Operand<T>& A, Operand<T>& B, T*& C) {
    A = {a + batch * g.stride_a, g.lda, g.trans_a};
    B = {b + batch * g.stride_b, g.ldb, g.trans_b};
    C = c + batch * g.stride_c;
}

// ---- naive: one thread per C element ------------------------------------------------

template <class T>
__global__ void gemm_naive_kernel(GemmDesc g, int64_t first_batch, const T* a, const T* b, T* c) {
    const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // x -> columns: coalesced C and B
    const int64_t i = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
    if (i < g.m && j < g.n) gemm_element(g, first_batch + blockIdx.z, a, b, c, i, j);
}

// ---- tiled: 32x32 shared-memory tiles ---------------------------------------------------

constexpr int kTile = 32;

template <class T>
__global__ void __launch_bounds__(kTile * kTile) gemm_tiled_kernel(GemmDesc g, int64_t first_batch, const T* a,
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

template <class T>
__global__ void __launch_bounds__(kRbThreads) gemm_regblock_kernel(GemmDesc g, int64_t first_batch, const T* a,
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
        // Each thread loads 4 A and 4 B elements (1024 each per tile), walking the stored
        // matrix's contiguous direction with consecutive threads.
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int m, p;
            if (A.trans) { p = t / 32; m = (t % 32) * 4 + e; }  // stored K x M: m contiguous
            else { m = t / 2; p = (t % 2) * 4 + e; }           // stored M x K: k contiguous
            const int64_t gi = row0 + m, gp = k0 + p;
            As[p][m] = (gi < g.m && gp < g.k) ? A.a_at(gi, gp) : T(0);
        }
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int n, p;
            if (B.trans) { n = t / 2; p = (t % 2) * 4 + e; }   // stored N x K: k contiguous
            else { p = t / 32; n = (t % 32) * 4 + e; }          // stored K x N: n contiguous
            const int64_t gp = k0 + p, gj = col0 + n;
            Bs[p][n] = (gp < g.k && gj < g.n) ? B.b_at(gp, gj) : T(0);
        }
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

__global__ void __launch_bounds__(kWmThreads, 3) gemm_wmma_tf32_kernel(GemmDesc g, int64_t first_batch,
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
        // 1024 elements of each tile, 8 per thread.
#pragma unroll
        for (int e = 0; e < 8; ++e) {
            const int idx = e * kWmThreads + t;
            int m, p;
            if (A.trans) { p = idx / kWmM; m = idx % kWmM; }
            else { m = idx / kWmK; p = idx % kWmK; }
            const int64_t gi = row0 + m, gp = k0 + p;
            As[m][p] = wmma::__float_to_tf32((gi < g.m && gp < g.k) ? A.a_at(gi, gp) : 0.0f);
        }
#pragma unroll
        for (int e = 0; e < 8; ++e) {
            const int idx = e * kWmThreads + t;
            int n, p;
            if (B.trans) { n = idx / kWmK; p = idx % kWmK; }
            else { p = idx / kWmN; n = idx % kWmN; }
            const int64_t gp = k0 + p, gj = col0 + n;
            Bs[p][n] = wmma::__float_to_tf32((gp < g.k && gj < g.n) ? B.b_at(gp, gj) : 0.0f);
        }
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

// ---- launch -----------------------------------------------------------------------------

constexpr int64_t kMaxGridZ = 65535;

template <class T>
void gemm_as(GemmKernel kernel, const GemmDesc& g, const T* a, const T* b, T* c) {
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
        }
        check_launch("cuda gemm");
    }
}

}  // namespace

void launch_gemm(GemmKernel kernel, ScalarType t, const GemmDesc& g, const void* a, const void* b, void* c) {
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
