// The reduced-precision GEMM on AVX-512, one template for int8 (vpdpbusd) and bf16 (vdpbf16ps).
// Included only by the files compiled for those instruction sets.
//
// Both instructions reduce a group of G consecutive k into each 32-bit lane: G = 4 uint8 x int8
// products summed into an int32, or G = 2 bf16 x bf16 products summed into a float32. So:
//   - B is packed once per call into blocks of 64 columns: block [k / G][64 columns][G], 256 bytes
//     per k-group in both cases, zero past k and past n (a zero weight adds nothing);
//   - A is read in place: the G elements A[i, kg*G ..] form one 32-bit word, broadcast to all lanes
//     (a k tail shorter than G is assembled with zero bytes);
//   - the micro-kernel keeps a 6-row x 64-column tile (24 zmm accumulators) and runs the whole k;
//     smaller tiles (fewer rows, fewer 16-column vectors) serve the edges;
//   - the epilogue (int8): acc - zp * colsum(B) (the zero point's compensation, colsum from the
//     packing), then int32 out, or float out = fma(float(acc), a_scale * col_scale[j], bias[j]);
//     (bf16): acc + bias[j].
// Threads: OpenMP over (row chunk, column block) when not already inside a parallel region
// (the convolutions call this once per image chunk on each thread).
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <type_traits>

#include "kernels/args/lowp.h"
#include "kernels/cpu/scratch.h"

namespace mg::kernels::cpu::lowp_simd {

constexpr int kMr = 6;             // rows of the micro-kernel tile
constexpr int kBlockCols = 64;     // columns of a packed B block (4 vectors of 16 lanes)
constexpr int64_t kRowChunk = 48;  // rows per OpenMP work item

// static: each instruction-set file keeps its own copy (no shared inline body across ISA flags).
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The two instructions, by how many k one 32-bit lane takes (G): 4 uint8 x int8 products summed
// into an int32 (AVX-512 VNNI vpdpbusd), or 2 bf16 x bf16 products into a float32 (AVX512-BF16
// vdpbf16ps). Each file compiles the one it has the flags for.
template <int G>
struct Lanes {
    using AElem = std::conditional_t<G == 4, uint8_t, uint16_t>;
    using BElem = std::conditional_t<G == 4, int8_t, uint16_t>;
    static constexpr int kGroup = G;
    static auto zero() {
        if constexpr (G == 4)
            return _mm512_setzero_si512();
        else
            return _mm512_setzero_ps();
    }
    template <class Acc>
    static Acc dot(Acc acc, __m512i a, __m512i b) {
        if constexpr (G == 4)
            return _mm512_dpbusd_epi32(acc, a, b);
        else
            return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
    }
};
using Int8 = Lanes<4>;
using Bf16 = Lanes<2>;

// What the packing leaves behind and the epilogue reads.
struct Packed {
    const unsigned char* panels;  // [blocks][k groups][64][G] elements
    int64_t groups;               // ceil(k / G)
    const int32_t* colsum;        // int8: [blocks * 64], sum over k of B[k, j]
    const float* scale;           // int8 float output: a_scale * col_scale[j]; [blocks * 64]
    const float* bias;            // [blocks * 64], zeros where none
};

template <class T>
Packed pack_b(const LowpGemmArgs& g, const typename T::BElem* b) {
    using E = typename T::BElem;
    constexpr int G = T::kGroup;
    const int64_t groups = ceil_div(g.k, G), blocks = ceil_div(g.n, kBlockCols), cols = blocks * kBlockCols;
    const int64_t panel_bytes = blocks * groups * 256;
    const int64_t bytes = panel_bytes + cols * 12;
    auto* base = static_cast<unsigned char*>(thread_scratch_bytes(Scratch::gemm_panels, bytes));
    auto* colsum = reinterpret_cast<int32_t*>(base + panel_bytes);
    auto* scale = reinterpret_cast<float*>(colsum + cols);
    auto* bias = scale + cols;
    // Zeros first (past k and past n), then the weights without a test per element.
    std::memset(base, 0, size_t(panel_bytes));
    for (int64_t j = 0; j < cols; ++j) colsum[j] = 0;
    auto block_of = [&](int64_t j) { return reinterpret_cast<E*>(base + (j / kBlockCols) * groups * 256); };
    if (g.trans_b) {
        // B [n, k]: the G elements of one k-group of column j are one 32-bit word of B's row j,
        // so packing is a transpose of words.
        const int64_t full = g.k / G;
        for (int64_t j = 0; j < g.n; ++j) {
            const E* row = b + j * g.ldb;
            E* col = block_of(j) + (j % kBlockCols) * G;
            for (int64_t kg = 0; kg < full; ++kg) std::memcpy(col + kg * kBlockCols * G, row + kg * G, 4);
            if (full < groups)
                std::memcpy(col + full * kBlockCols * G, row + full * G, size_t(g.k - full * G) * sizeof(E));
            if constexpr (G == 4) {
                int32_t sum = 0;
                for (int64_t k = 0; k < g.k; ++k) sum += int32_t(row[k]);
                colsum[j] = sum;
            }
        }
    } else {
        // B [k, n]: row by row (contiguous reads), each element to its lane's byte.
        for (int64_t k = 0; k < g.k; ++k) {
            const E* row = b + k * g.ldb;
            const int64_t offset = (k / G) * kBlockCols * G + k % G;
            for (int64_t j = 0; j < g.n; ++j) block_of(j)[offset + (j % kBlockCols) * G] = row[j];
            if constexpr (G == 4)  // the zero point's compensation (int8); its own loop, as E* may alias it
                for (int64_t j = 0; j < g.n; ++j) colsum[j] += int32_t(row[j]);
        }
    }
    for (int64_t j = 0; j < cols; ++j) {
        scale[j] = j < g.n && g.col_scale ? g.a_scale * g.col_scale[j] : 0.f;
        bias[j] = j < g.n && g.bias ? g.bias[j] : 0.f;
    }
    return {base, groups, colsum, scale, bias};
}

// The G elements of A at p (count of them real, the rest zero) as one 32-bit word in all lanes.
template <class T>
__m512i broadcast_a(const typename T::AElem* p, int count) {
    uint32_t word = 0;
    std::memcpy(&word, p, size_t(count) * sizeof(typename T::AElem));
    return _mm512_set1_epi32(int(word));
}

// rows x (NV * 16 columns) of C, starting at A row `a` and packed block column vector 0.
template <class T, int MR, int NV>
void tile(const LowpGemmArgs& g, const typename T::AElem* a, const Packed& p, int64_t blk, int64_t j0,
          int64_t valid_cols, void* c_row0) {
    using Acc = decltype(T::zero());
    constexpr int G = T::kGroup;
    Acc acc[MR][NV];
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) acc[r][v] = T::zero();
    const unsigned char* panel = p.panels + blk * p.groups * 256;
    const int64_t full = g.k / G;
    // An int8 activation is read as uint8 a + 128 (flip the sign bit); the epilogue subtracts
    // (zero point + 128) * colsum.
    const __m512i flip = _mm512_set1_epi32(g.a_signed ? int(0x80808080u) : 0);
    for (int64_t kg = 0; kg < p.groups; ++kg) {
        __m512i bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(panel + kg * 256 + v * 64);
        const int count = kg < full ? G : int(g.k - kg * G);
        for (int r = 0; r < MR; ++r) {
            __m512i av = count == G ? _mm512_set1_epi32([&] {
                int32_t w;
                std::memcpy(&w, a + r * g.lda + kg * G, 4);
                return w;
            }())
                                    : broadcast_a<T>(a + r * g.lda + kg * G, count);
            if constexpr (G == 4) av = _mm512_xor_si512(av, flip);
            for (int v = 0; v < NV; ++v) acc[r][v] = T::dot(acc[r][v], av, bv[v]);
        }
    }
    // Epilogue.
    for (int v = 0; v < NV; ++v) {
        const int64_t cols = valid_cols - v * 16;
        if (cols <= 0) break;
        const __mmask16 mask = cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
        const int64_t jp = blk * kBlockCols + v * 16;  // index into the padded per-column arrays
        const __m512 bias = _mm512_loadu_ps(p.bias + jp);
        for (int r = 0; r < MR; ++r) {
            if constexpr (G == 4) {
                // (zero point + 128 if signed) * colsum, per column
                const __m512i comp = _mm512_mullo_epi32(_mm512_set1_epi32(g.a_zero_point + (g.a_signed ? 128 : 0)),
                                                        _mm512_loadu_si512(p.colsum + jp));
                const __m512i exact = _mm512_sub_epi32(acc[r][v], comp);
                if (g.col_scale == nullptr) {
                    int32_t* c = static_cast<int32_t*>(c_row0) + r * g.ldc + j0 + v * 16;
                    _mm512_mask_storeu_epi32(c, mask, exact);
                } else {
                    float* c = static_cast<float*>(c_row0) + r * g.ldc + j0 + v * 16;
                    const __m512 y = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(__mmask16(0xffff), exact),
                                                     _mm512_loadu_ps(p.scale + jp), bias);
                    _mm512_mask_storeu_ps(c, mask, y);
                }
            } else {
                float* c = static_cast<float*>(c_row0) + r * g.ldc + j0 + v * 16;
                _mm512_mask_storeu_ps(c, mask, _mm512_add_ps(acc[r][v], bias));
            }
        }
    }
}

template <class T, int MR>
void tile_cols(const LowpGemmArgs& g, const typename T::AElem* a, const Packed& p, int64_t blk, void* c_row0) {
    const int64_t j0 = blk * kBlockCols;
    const int64_t valid = g.n - j0 < kBlockCols ? g.n - j0 : kBlockCols;
    switch ((valid + 15) / 16) {
        case 1: tile<T, MR, 1>(g, a, p, blk, j0, valid, c_row0); break;
        case 2: tile<T, MR, 2>(g, a, p, blk, j0, valid, c_row0); break;
        case 3: tile<T, MR, 3>(g, a, p, blk, j0, valid, c_row0); break;
        default: tile<T, MR, 4>(g, a, p, blk, j0, valid, c_row0); break;
    }
}

// Rows [i0, i1) of C for column block blk.
template <class T>
void rows_of_block(const LowpGemmArgs& g, const typename T::AElem* a, const Packed& p, int64_t blk, int64_t i0,
                   int64_t i1, void* c, int64_t c_elem_bytes) {
    for (int64_t i = i0; i < i1; i += kMr) {
        const typename T::AElem* ai = a + i * g.lda;
        void* ci = static_cast<unsigned char*>(c) + i * g.ldc * c_elem_bytes;
        switch (i1 - i < kMr ? i1 - i : kMr) {
            case 1: tile_cols<T, 1>(g, ai, p, blk, ci); break;
            case 2: tile_cols<T, 2>(g, ai, p, blk, ci); break;
            case 3: tile_cols<T, 3>(g, ai, p, blk, ci); break;
            case 4: tile_cols<T, 4>(g, ai, p, blk, ci); break;
            case 5: tile_cols<T, 5>(g, ai, p, blk, ci); break;
            default: tile_cols<T, 6>(g, ai, p, blk, ci); break;
        }
    }
}

template <class T>
void gemm(const LowpGemmArgs& g, const typename T::AElem* a, const typename T::BElem* b, void* c) {
    const Packed p = pack_b<T>(g, b);
    const int64_t blocks = ceil_div(g.n, kBlockCols), chunks = ceil_div(g.m, kRowChunk);
    const int64_t c_bytes = 4;  // int32 or float32
    const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1 && chunks * blocks > 1 &&
                          double(g.m) * double(g.n) * double(g.k) > 1e6;
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t chunk = 0; chunk < chunks; ++chunk)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t i0 = chunk * kRowChunk, i1 = i0 + kRowChunk < g.m ? i0 + kRowChunk : g.m;
            rows_of_block<T>(g, a, p, blk, i0, i1, c, c_bytes);
        }
}

}  // namespace mg::kernels::cpu::lowp_simd
