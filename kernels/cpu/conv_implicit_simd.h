// The implicit-GEMM convolution's inner loop on AVX-512 (conv_implicit.h has the contract):
// gemm_blocked.h's loop nest with a B-packing step that lowers the source on the fly.
// Include only from isa_avx512.cpp.
//
// Panel layout (pack_b's): B rows [pc, pc+kc) and columns [jc, jc+nc) go to
// out[(j / NR) * kc * NR + (r - pc) * NR + j % NR], NR = 32 = two vectors. For row r, the 16
// columns of a vector are 16 consecutive output positions: one masked load of 16 consecutive
// source elements when the lowering is contiguous, else one masked gather through the column
// offsets. The masks come straight from the tap's bit table (j is a multiple of 16 because jc is
// a multiple of nc, itself one of NR, and panels are 32 wide). Masked-off lanes are never read,
// so the padding, the row wrap-around and the panel's tail cost nothing and fault nothing. A
// lowering with runs (a pitched source) loads each vector run by run, merging masked loads.
#pragma once

#include "kernels/cpu/conv_implicit.h"
#include "kernels/cpu/gemm_simd.h"

namespace mg::kernels::simd {
namespace {

namespace implicit_gemm {

using cpu::ImplicitLowering;
namespace blocked = cpu::gemm_blocked;
using V = GemmTraits<F32>;
static_assert(V::NR == 2 * V::L && V::L == 16, "the packer assumes 16-lane, 2-vector panels");

// The runs of word w (conv_implicit.h) read once per panel, not once per row: lane masks
// (cut to `edge`) and offsets from the row's source start, for merging masked loads.
struct VectorRuns {
    int count = 0;
    __mmask16 lanes[cpu::kMaxImplicitRuns];
    int64_t at[cpu::kMaxImplicitRuns];

    VectorRuns(const ImplicitLowering& b, int64_t w, int64_t j, __mmask16 edge) {
        if (!edge) return;
        for (uint32_t q = b.run_begin[w]; q < b.run_begin[w + 1]; ++q, ++count) {
            lanes[count] = __mmask16(b.runs[q].lanes & edge);
            at[count] = j + b.runs[q].shift;
        }
    }
    // The vector of `plane`, lanes outside `valid` 0 and never read.
    __m512 load(const float* plane, __mmask16 valid) const {
        __m512 v = _mm512_setzero_ps();
        for (int q = 0; q < count; ++q) v = _mm512_mask_loadu_ps(v, __mmask16(lanes[q] & valid), plane + at[q]);
        return v;
    }
};

void lower_panels(const ImplicitLowering& b, const float* src, int64_t pc, int64_t jc, int64_t kc, int64_t nc,
                  float* out) {
    // Each row's source and bit table once, then panel by panel, row by row, as pack_b does:
    // the writes stay sequential (row-major over the whole block they would be kc*NR floats
    // apart, one L1 set, which cost 25% on a 1x1 conv).
    const float* plane[cpu::kMaxGemmKC];  // kc <= kMaxGemmKC (fit_gemm_blocking)
    const uint16_t* bits[cpu::kMaxGemmKC];
    for (int64_t r = pc; r < pc + kc; ++r) {
        const int64_t t = r % b.taps;
        plane[r - pc] = src + (r / b.taps) * b.plane_size + b.tap_offset[t];
        bits[r - pc] = b.valid + t * b.words;
    }
    const int64_t end = jc + nc;
    const int32_t* const column = b.column;  // read once: the stores below could alias b
    for (int64_t j = jc; j < end; j += V::NR, out += kc * V::NR) {
        __mmask16 edge[2];
        for (int v = 0; v < 2; ++v) {
            const int64_t left = end - (j + v * V::L);
            edge[v] = V::tail(int(left >= V::L ? V::L : left > 0 ? left : 0));
        }
        // Lanes past the end, in the padding or across a row's wrap-around are masked off and
        // never read (plane + j itself may point outside the source).
        const int64_t w0 = j / V::L, w1 = w0 + 1;
        if (b.runs != nullptr) {
            const VectorRuns r0(b, w0, j, edge[0]), r1(b, w1, j + V::L, edge[1]);
            for (int64_t i = 0; i < kc; ++i) {
                V::store(out + i * V::NR, r0.load(plane[i], __mmask16(bits[i][w0])));
                V::store(out + i * V::NR + V::L,
                         r1.count ? r1.load(plane[i], __mmask16(bits[i][w1])) : _mm512_setzero_ps());
            }
        } else if (column == nullptr) {
            for (int64_t i = 0; i < kc; ++i) {
                const __mmask16 m0 = __mmask16(bits[i][w0] & edge[0]);
                const __mmask16 m1 = edge[1] ? __mmask16(bits[i][w1] & edge[1]) : __mmask16(0);
                V::store(out + i * V::NR, _mm512_maskz_loadu_ps(m0, plane[i] + j));
                V::store(out + i * V::NR + V::L, _mm512_maskz_loadu_ps(m1, plane[i] + j + V::L));
            }
        } else {
            // column holds ceil(n / 16) * 16 offsets: the second vector exists only where edge[1] does.
            const __m512i c0 = _mm512_loadu_si512(column + j);
            const __m512i c1 = edge[1] ? _mm512_loadu_si512(column + j + V::L) : _mm512_setzero_si512();
            const __m512 zero = _mm512_setzero_ps();
            for (int64_t i = 0; i < kc; ++i) {
                const __mmask16 m0 = __mmask16(bits[i][w0] & edge[0]);
                const __mmask16 m1 = edge[1] ? __mmask16(bits[i][w1] & edge[1]) : __mmask16(0);
                V::store(out + i * V::NR, _mm512_mask_i32gather_ps(zero, m0, c0, plane[i], 4));
                V::store(out + i * V::NR + V::L, _mm512_mask_i32gather_ps(zero, m1, c1, plane[i], 4));
            }
        }
    }
}

// B^T's panels for the weight gradient: rows [pc, pc+kc) of B^T are output positions, its
// columns [jc, jc+nc) rows r of B. Each 16 x 16 tile (16 rows r, 16 positions) is 16 masked
// loads (or gathers through the column offsets), transposed in registers (V::transpose), 16
// stores of one position's 16 values each: the transposing pack of col^T, reading the source
// instead of col.
void lower_panels_transposed(const ImplicitLowering& b, const float* src, int64_t pc, int64_t jc, int64_t kc,
                             int64_t nc, float* out) {
    const int64_t end = pc + kc;
    const int32_t* const column = b.column;  // read once: the stores below could alias b
    for (int64_t j = 0; j < nc; j += V::NR, out += kc * V::NR) {
        for (int v = 0; v < 2; ++v) {
            const float* plane[V::L];
            const uint16_t* bits[V::L];
            int rows = 0;
            for (int i = 0; i < V::L; ++i) {
                const int64_t r = jc + j + v * V::L + i;
                if (r >= jc + nc) break;
                plane[i] = src + (r / b.taps) * b.plane_size + b.tap_offset[r % b.taps];
                bits[i] = b.valid + (r % b.taps) * b.words;
                rows = i + 1;
            }
            for (int64_t q = pc; q < end; q += V::L) {
                const int steps = int(end - q >= V::L ? V::L : end - q);
                const __mmask16 edge = V::tail(steps);
                __m512 tile[V::L];
                if (b.runs != nullptr) {
                    const VectorRuns runs(b, q / V::L, q, edge);
                    for (int i = 0; i < V::L; ++i)
                        tile[i] = i < rows ? runs.load(plane[i], __mmask16(bits[i][q / V::L])) : _mm512_setzero_ps();
                } else if (column == nullptr) {
                    for (int i = 0; i < V::L; ++i)
                        tile[i] = i < rows ? _mm512_maskz_loadu_ps(__mmask16(bits[i][q / V::L] & edge), plane[i] + q)
                                           : _mm512_setzero_ps();
                } else {
                    const __m512i offsets = _mm512_loadu_si512(column + q);
                    for (int i = 0; i < V::L; ++i)
                        tile[i] = i < rows ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(),
                                                                      __mmask16(bits[i][q / V::L] & edge), offsets,
                                                                      plane[i], 4)
                                           : _mm512_setzero_ps();
                }
                V::transpose(tile);
                for (int c = 0; c < steps; ++c) V::store(out + (q - pc + c) * V::NR + v * V::L, tile[c]);
            }
        }
    }
}

constexpr int kRowTile = V::MR;

void forward(const float* a, int64_t lda, int64_t m, const ImplicitLowering& b, const float* src, float* out) {
    const cpu::GemmBlocking bl = cpu::gemm_blocking(V::kShape);
    float* work = cpu::thread_scratch<float>(cpu::Scratch::gemm_panels, blocked::work_elements<V>(bl, m, b.n, b.k));
    const auto lower = [&b, src](int64_t pc, int64_t jc, int64_t kc, int64_t nc, float* panels) {
        lower_panels(b, src, pc, jc, kc, nc, panels);
    };
    blocked::gemm_block<V>(bl, blocked::OpView<V>{a, lda, false}, lower, out, b.n, m, b.n, b.k, 1.0f, 0.0f, work);
}

void weight(const float* gy, int64_t m, const ImplicitLowering& b, const float* src, float* gw, float beta) {
    // lower_panels_transposed reads 16 positions' valid bits as one word: the k blocks (positions
    // here) must start at multiples of 16, so kc is rounded up to one (kMaxGemmKC is one).
    cpu::GemmBlocking bl = cpu::gemm_blocking(V::kShape);
    bl.kc = blocked::round_up(bl.kc, V::L);
    float* work = cpu::thread_scratch<float>(cpu::Scratch::gemm_panels, blocked::work_elements<V>(bl, m, b.k, b.n));
    const auto lower = [&b, src](int64_t pc, int64_t jc, int64_t kc, int64_t nc, float* panels) {
        lower_panels_transposed(b, src, pc, jc, kc, nc, panels);
    };
    blocked::gemm_block<V>(bl, blocked::OpView<V>{gy, b.n, false}, lower, gw, b.k, m, b.k, b.n, 1.0f, beta, work);
}

}  // namespace implicit_gemm

}  // namespace
}  // namespace mg::kernels::simd
