// The implicit-GEMM convolution's contract between the plain C++ driver (conv_implicit.cpp:
// shapes, tap tables, weights, threads, fallbacks) and the inner loops that run the GEMM
// (conv_implicit_simd.h, instantiated in isa_avx512.cpp and reached through
// isa_kernels.h's ImplicitGemmKernels: intrinsics and gemm_blocked.h only, nothing that could
// leave an AVX-512 copy of a shared inline function behind).
//
// A convolution is, per block of images,
//   out [M, N] = A [M, K] · B [K, N],   B[r][j] = src[(r / T) * plane_size + tap_offset[r % T] + column[j]]
// where tap r % T is valid at column j (inside the input, not in the padding), else 0. T is
// the number of taps, a column j is one output position of one image, column[j] its offset in
// the source. B is the im2col matrix; here it never exists: the GEMM's B-packing step reads it
// straight from src into its panels, 16 values per vector, the mask of valid lanes taken from a
// per-tap bit table. When consecutive columns read consecutive elements (stride 1, output rows
// as wide as input rows: conv_blocks.h's ShiftedTap) a vector is one masked load; otherwise a
// masked gather through the column offsets. That removes the col write and its re-read by the
// packing, and (for backward_input, computed as a forward convolution of gy with the
// reflected taps) the col2im pass. When the column offsets of each vector form a few runs
// of consecutive elements (a source with a row pitch wider than the output rows, as
// conv_polyphase.cpp's phase planes), the vector is one merging masked load per run instead of
// a gather.
#pragma once

#include <cstdint>

namespace mg::kernels::cpu {

// Lanes `lanes` of one 16-column vector starting at column j read src[j + lane + shift].
// A vector has at most kMaxImplicitRuns runs.
constexpr int kMaxImplicitRuns = 8;
struct ImplicitRun {
    int32_t shift = 0;
    uint16_t lanes = 0;
};

struct ImplicitLowering {
    int64_t k = 0;           // rows of B: source planes x taps
    int64_t taps = 0;        // T; row r reads plane r / T through tap r % T
    int64_t n = 0;           // columns of B
    int64_t plane_size = 0;  // elements between consecutive source planes
    const int64_t* tap_offset = nullptr;  // [T]
    const uint16_t* valid = nullptr;      // [T][words]: bit j % 16 of word j / 16 set where tap reads inside
    int64_t words = 0;                    // ceil(n / 16)
    const int32_t* column = nullptr;      // [words * 16] source offset of each column; null: column j reads j
    // When set, used instead of column: word w's columns are runs[run_begin[w] .. run_begin[w + 1]).
    const uint32_t* run_begin = nullptr;  // [words + 1]
    const ImplicitRun* runs = nullptr;
};

}  // namespace mg::kernels::cpu
