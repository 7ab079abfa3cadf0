// The SIMT emulation's nvcuda::wmma: every lane of a warp holds the whole fragment (on the
// GPU each holds a share), so a load is each lane reading the tile, an mma each lane
// multiplying the tiles (products of the rounded inputs summed in float, in k order), and
// a store lane 0 writing the tile while the warp waits. Layouts and leading dimensions
// are honoured exactly as the CUDA documentation defines them, which is what the kernels'
// addressing is checked against.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_bf16.h"
#include "simt.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}  // namespace precision

// TF32: float32 with a 10-bit mantissa, rounded to nearest (ties away from zero, as cvt.rna.tf32).
inline float __float_to_tf32(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    std::memcpy(&f, &u, 4);
    return f;
}

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static constexpr int rows = std::is_same_v<Use, matrix_b> ? K : M;
    static constexpr int cols = std::is_same_v<Use, matrix_a> ? K : N;
    float v[rows * cols];
};

template <class Use, int M, int N, int K, class T, class Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float value) {
    for (float& x : f.v) x = value;
}

inline float to_float(float x) { return x; }
inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// A or B tile: element (r, c) at p[r * ld + c] (row_major) or p[c * ld + r] (col_major).
template <class Use, int M, int N, int K, class T, class Layout, class P>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const P* p, unsigned ld) {
    using F = fragment<Use, M, N, K, T, Layout>;
    for (int r = 0; r < F::rows; ++r)
        for (int c = 0; c < F::cols; ++c)
            f.v[r * F::cols + c] =
                to_float(std::is_same_v<Layout, col_major> ? p[size_t(c) * ld + r] : p[size_t(r) * ld + c]);
    __syncwarp();
}

template <int M, int N, int K, class TA, class LA, class TB, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
              const fragment<matrix_b, M, N, K, TB, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    float out[M * N];
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            float acc = c.v[i * N + j];
            for (int k = 0; k < K; ++k) acc += a.v[i * K + k] * b.v[k * N + j];
            out[i * N + j] = acc;
        }
    std::memcpy(d.v, out, sizeof(out));
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ld, layout_t layout) {
    __syncwarp();  // every lane has finished with the memory the store overwrites
    if (simt_detail::linear_thread() % 32 == 0)
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j)
                p[layout == mem_row_major ? size_t(i) * ld + j : size_t(j) * ld + i] = f.v[i * N + j];
    __syncwarp();
}

}  // namespace nvcuda::wmma
