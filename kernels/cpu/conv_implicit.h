// The implicit-GEMM convolution's contract between the plain C++ driver (conv_implicit.cpp:
// shapes, tap tables, weights, threads, fallbacks) and the ISA file that runs the GEMM
// (conv_implicit_avx512.cpp: intrinsics and gemm_blocked.h only, nothing that could leave
// an AVX-512 copy of a shared inline function behind).
//
// A stride-1 convolution whose output rows are as wide as its input rows is, per image,
//   out [M, N] = A [M, K] · B [K, N],   B[r][q] = src[r / T][q + shift[r % T]] where tap r % T
// is valid at q, else 0 (conv_blocks.h's ShiftedTap: one constant shift per tap). B is the
// im2col matrix; here it never exists: the GEMM's B-packing step reads it straight from src
// into its panels, one masked vector load per 16 values, the mask taken from a per-tap bit
// table. That removes the col write, its re-read by the packing, and (for backward_input,
// computed as a forward convolution of gy with the reflected taps) the col2im pass.
#pragma once

#include <cstdint>

namespace mg::kernels::cpu {

struct ShiftedLowering {
    int64_t k = 0;           // rows of B: source planes x taps
    int64_t taps = 0;        // T; row r reads plane r / T through tap r % T
    int64_t n = 0;           // columns of B: output positions
    int64_t plane_size = 0;  // elements per source plane
    const int64_t* shift = nullptr;   // [T]: B[r][q] reads plane element q + shift[r % T]
    const uint16_t* valid = nullptr;  // [T][words]: bit q % 16 of word q / 16 is set where tap reads inside
    int64_t words = 0;                // ceil(n / 16)
};

// Rows of the GEMM's micro-kernel tile (M is computed in whole tiles of this many rows).
int implicit_gemm_row_tile_avx512_f32();
// out [M, b.n] (row stride b.n) = a [M, b.k] (row stride lda) · B(src) on the calling thread,
// with the GEMM's own per-thread packing buffers.
void implicit_gemm_avx512_f32(const float* a, int64_t lda, int64_t m, const ShiftedLowering& b, const float* src,
                              float* out);

}  // namespace mg::kernels::cpu
