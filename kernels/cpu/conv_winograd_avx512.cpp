// conv2d "winograd" (float32, AVX-512 machines): the 4x4 stride-2 pad-1 convolution of the
// dcgan family with Winograd's minimal filtering F(2x2, 2x2), 9 multiplies per 2x2 output
// tile and phase instead of 16 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"). Shapes: x [N, C_in, H, W], w [C_out, C_in, 4, 4], y [N, C_out, OH, OW],
// H in {2*OH, 2*OH + 1} (likewise W). An odd OH (OW) pads the last tile row (column): the
// padded outputs are computed from zero input and dropped, and their gradients are zero.
//
// The polyphase split (conv_polyphase.cpp) makes the conv a sum over x's 4 phases
// (a, b) of 2x2 stride-1 correlations: phase P_ab[u][v] = x_pad[2u + a][2v + b] with the
// filter g_ab[m][l] = w[2m + a][2l + b]. Output tile (th, tw), y rows 2th..2th+1 and columns
// 2tw..2tw+1, reads the 3x3 tile d of each phase at (2th, 2tw), i.e. x_pad's 6x6 window at
// (4th, 4tw). In one dimension, with the interpolation points 0, 1 and infinity:
//   B^T = [1 -1 0; 0 1 0; 0 -1 1]   G = [1 0; 1 1; 0 1]   A^T = [1 1 0; 0 1 1]
//   y0 = d0 g0 + d1 g1 = m0 + m1,  y1 = d1 g0 + d2 g1 = m1 + m2,  m = (B^T d) . (G g)
// Every entry is 0 or +-1: the transforms only add (no 1/2 as in F(2x2, 3x3)); the float32
// error is up to ~2.6x polyphase's (docs/kernels.md, measured).
// In two dimensions V = B^T d B, U = G g G^T, Y = A^T M A, and summed over channels and
// phases, with k = phase*C_in + ci and T tiles (a chunk of images side by side), one GEMM per
// transformed position p = 0..8 (one batched GEMM call):
//   forward          M_p [C_out, T]  = U_p [C_out, 4*C_in] · V_p [4*C_in, T],   y = A^T M A
//   backward_input   dV_p [4*C_in, T] = U_p^T · dM_p,  dM = A gy A^T,  gx = scatter of B dV B^T
//   backward_weight  dU_p [C_out, 4*C_in] = sum over chunks dM_p · V_p^T,  gw = G^T dU G
// The backward faces are the exact adjoints of forward's transforms, so the three faces
// compute one trilinear form (the adjoint test in tests/test_conv_winograd.cpp).
//
// Layout: the input transform runs on one image at a time turned channels-last, vectorised
// over the channels: V is stored transposed, V^T [9, T, K], each tile's K values contiguous
// (the GEMMs read it with trans_b; backward_input writes dV^T the same way and scatters it
// into a channels-last gx, transposed back at the end); gy is turned channels-last too, for
// dM^T [9, T, C_out]. M stays [9, C_out, T]: y's transform is vectorised over a row's tiles.
// Vectorised over the tiles of a row (4 at 8x8 outputs) the input-side transforms took 45% of
// the time; over the channels (>= 16) all transforms together take ~17%.
//
// Threads: one block of images per thread, the GEMM single-threaded inside it (as polyphase).
// Forward and backward_input: every output depends on its own image only, and the blocked
// GEMM's columns do not depend on N, so the bits do not depend on the thread count;
// backward_weight adds per-thread partial dU in thread order before the final transform.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit_driver.h"
#include "kernels/cpu/conv_variants.h"

namespace mg::kernels::cpu {
namespace {

constexpr int64_t kPositions = 9;  // the transformed 3x3 tile
constexpr int64_t kPhases = 4;

// Both channel counts at least this: below it the transforms, not the GEMMs, dominate (at 8
// a tie, at 4 2.3x slower; docs/kernels.md). D's first conv (C_in = 3) and G's last
// transposed conv (its conv's C_in = 3) stay on polyphase.
constexpr int64_t kMinChannels = 16;
// Images per GEMM until its N reaches this many tiles. Measured (1 thread, CPU ms per face,
// 128 / 256 / 512 / 2048): 64 -> 128 at 16x16 forward 8.3 / 9.3 / 10.0 / 9.8, 128 -> 256 at
// 8x8 8.6 / 8.5 / 8.5 / 8.7, 256 -> 512 at 8x8 30.7 / 30.5 / 30.5 / 31.0 (backward faces alike).
constexpr int64_t kTargetTiles = 256;
// A chunk's V^T and M stop growing at this many elements (16 MB in float32).
constexpr int64_t kMaxChunkElements = int64_t(1) << 22;

struct Tiling {
    int64_t th, tw, tiles;  // tile rows and columns per image, tiles = th * tw
    int64_t k;              // 4 * C_in: the GEMMs' reduction over channels and phases
    int64_t chunk;          // images per GEMM
    int64_t v_chunk, m_chunk;  // elements of a chunk's V^T [9, chunk*T, K] and M [9, C_out, chunk*T]
};

Tiling tiling(const Conv2dShape& s) {
    Tiling t;
    t.th = (s.oh + 1) / 2;  // odd: the last tile row half outside
    t.tw = (s.ow + 1) / 2;
    t.tiles = t.th * t.tw;
    t.k = kPhases * s.c_in;
    const int64_t per_image = kPositions * (t.k + s.c_out) * t.tiles;
    t.chunk = std::clamp<int64_t>((kTargetTiles + t.tiles - 1) / t.tiles, 1,
                                  std::max<int64_t>(1, kMaxChunkElements / per_image));
    t.chunk = std::min(t.chunk, std::max<int64_t>(1, s.n));
    t.v_chunk = kPositions * t.k * t.chunk * t.tiles;
    t.m_chunk = kPositions * s.c_out * t.chunk * t.tiles;
    return t;
}

}  // namespace

// At least 2 tiles per image keeps the GEMM's N above 1 (its matrix-vector path sums in
// another order); at least as many images as threads keeps the GEMM single-threaded inside
// each block; the products below keep every index far from int64 overflow.
bool conv2d_winograd_fits(const Conv2dShape& s) {
    const bool conv4x4s2p1 = s.kh == 4 && s.kw == 4 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 1 &&
                             s.pad_w == 1 && s.dil_h == 1 && s.dil_w == 1 && s.groups == 1;
    const int64_t th = (s.oh + 1) / 2, tw = (s.ow + 1) / 2;
    if (!conv4x4s2p1 || th * tw < 2) return false;
    if (s.c_in < kMinChannels || s.c_out < kMinChannels || s.n < max_threads()) return false;
    const int64_t limit = int64_t(1) << 30;
    return s.c_in * s.h * s.w < limit && s.c_out * s.oh * s.ow < limit &&
           kPositions * (kPhases * s.c_in + s.c_out) * th * tw < limit &&
           kPositions * s.c_out * kPhases * s.c_in < limit;
}

namespace {

// ---- the transforms -------------------------------------------------------------------------

// out[j * ld_out + i] = in[i * ld_in + j] for a 16x16 float block, in registers: 64 shuffles
// in 4 rounds (pairs of rows, then 2-, 4- and 8-float groups) instead of 256 strided moves.
// The masked forms with a full mask: the plain ones start from _mm512_undefined_ps, which
// g++ 12 reports as used uninitialized.
void transpose16x16(const float* in, int64_t ld_in, float* out, int64_t ld_out) {
    constexpr __mmask16 all = 0xFFFF;
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * ld_in);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_mask_unpacklo_ps(r[i], all, r[i], r[i + 1]);
        t[i + 1] = _mm512_mask_unpackhi_ps(r[i], all, r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_mask_shuffle_ps(t[i], all, t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_mask_shuffle_ps(t[i], all, t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_mask_shuffle_ps(t[i], all, t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_mask_shuffle_ps(t[i], all, t[i + 1], t[i + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; ++i) {
            t[h + i] = _mm512_mask_shuffle_f32x4(r[h + i], all, r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_mask_shuffle_f32x4(r[h + i], all, r[h + i], r[h + i + 4], 0xDD);
        }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_mask_shuffle_f32x4(t[i], all, t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_mask_shuffle_f32x4(t[i], all, t[i], t[i + 8], 0xDD);
    }
    for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * ld_out, r[i]);
}

// out [cols, rows] = in [rows, cols] transposed: whole 16x16 blocks in registers, the edges
// (rows or cols not a multiple of 16) element by element.
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
    for (int64_t r0 = 0; r0 < rows; r0 += 16)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            if (r0 + 16 <= rows && c0 + 16 <= cols) {
                transpose16x16(in + r0 * cols + c0, cols, out + c0 * rows + r0, rows);
                continue;
            }
            for (int64_t q = c0; q < std::min(cols, c0 + 16); ++q)
                for (int64_t k = r0; k < std::min(rows, r0 + 16); ++k) out[q * rows + k] = in[k * cols + q];
        }
}

// One image between NCHW and channels-last: [C, P] <-> [P, C].
void to_channels_last(const float* x, int64_t c, int64_t p, float* xt) { transpose(x, c, p, xt); }

void from_channels_last(const float* xt, int64_t c, int64_t p, float* x) { transpose(xt, p, c, x); }

// The 3x3 tile d of phase (a, b) at tile (th, tw) in a channels-last image xt [H*W, C]:
// d[i][j] = x[4th + 2i + a - 1][4tw + 2j + b - 1], a row of C channels, or `outside` (zeros
// to read, a sink to write) in the padding.
struct PhaseTile {
    float* d[3][3];
};

PhaseTile phase_tile(float* xt, int64_t h, int64_t w, int64_t c, int64_t th, int64_t tw, int64_t a, int64_t b,
                     float* outside) {
    PhaseTile t;
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 3; ++j) {
            const int64_t row = 4 * th + 2 * i + a - 1, col = 4 * tw + 2 * j + b - 1;
            t.d[i][j] = row >= 0 && row < h && col >= 0 && col < w ? xt + (row * w + col) * c : outside;
        }
    return t;
}

// V = B^T d B for one tile and phase, vectorised over the C channels (B^T v = [v0 - v1, v1, v2 - v1]);
// position p's row at out + p * pos_stride.
void transform_input_tile(const PhaseTile& t, int64_t c, float* out, int64_t pos_stride) {
    const float *d00 = t.d[0][0], *d01 = t.d[0][1], *d02 = t.d[0][2], *d10 = t.d[1][0], *d11 = t.d[1][1],
                *d12 = t.d[1][2], *d20 = t.d[2][0], *d21 = t.d[2][1], *d22 = t.d[2][2];
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
        const float e00 = d00[k] - d01[k], e01 = d01[k], e02 = d02[k] - d01[k];  // e = d B (columns)
        const float e10 = d10[k] - d11[k], e11 = d11[k], e12 = d12[k] - d11[k];
        const float e20 = d20[k] - d21[k], e21 = d21[k], e22 = d22[k] - d21[k];
        out[0 * pos_stride + k] = e00 - e10;  // V = B^T e (rows)
        out[1 * pos_stride + k] = e01 - e11;
        out[2 * pos_stride + k] = e02 - e12;
        out[3 * pos_stride + k] = e10;
        out[4 * pos_stride + k] = e11;
        out[5 * pos_stride + k] = e12;
        out[6 * pos_stride + k] = e20 - e10;
        out[7 * pos_stride + k] = e21 - e11;
        out[8 * pos_stride + k] = e22 - e12;
    }
}

// The adjoint: d += B dV B^T (B v = [v0, v1 - v0 - v2, v2]). The 9 rows of d are distinct
// pixels, or the sink.
void transform_input_tile_adjoint(const float* in, int64_t pos_stride, int64_t c, const PhaseTile& t) {
    float *d00 = t.d[0][0], *d01 = t.d[0][1], *d02 = t.d[0][2], *d10 = t.d[1][0], *d11 = t.d[1][1],
          *d12 = t.d[1][2], *d20 = t.d[2][0], *d21 = t.d[2][1], *d22 = t.d[2][2];
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
        const float v00 = in[0 * pos_stride + k], v01 = in[1 * pos_stride + k], v02 = in[2 * pos_stride + k];
        const float v10 = in[3 * pos_stride + k], v11 = in[4 * pos_stride + k], v12 = in[5 * pos_stride + k];
        const float v20 = in[6 * pos_stride + k], v21 = in[7 * pos_stride + k], v22 = in[8 * pos_stride + k];
        const float e10 = v10 - v00 - v20, e11 = v11 - v01 - v21, e12 = v12 - v02 - v22;  // e = B dV (rows)
        d00[k] += v00;  // d = e B^T (columns)
        d01[k] += v01 - v00 - v02;
        d02[k] += v02;
        d10[k] += e10;
        d11[k] += e11 - e10 - e12;
        d12[k] += e12;
        d20[k] += v20;
        d21[k] += v21 - v20 - v22;
        d22[k] += v22;
    }
}

// Y = A^T M A for tile t of a row: y[r][c] for the tile's rows r and columns c.
inline void output_tile(const float* m, int64_t pos_stride, int64_t t, float y[2][2]) {
    float r0[3], r1[3];  // A^T M: rows 0+1 and 1+2
    for (int c = 0; c < 3; ++c) {
        const float m0 = m[(0 + c) * pos_stride + t], m1 = m[(3 + c) * pos_stride + t],
                    m2 = m[(6 + c) * pos_stride + t];
        r0[c] = m0 + m1;
        r1[c] = m1 + m2;
    }
    y[0][0] = r0[0] + r0[1];
    y[0][1] = r0[1] + r0[2];
    y[1][0] = r1[0] + r1[1];
    y[1][1] = r1[1] + r1[2];
}

// One tile row of one output plane: y rows 2th and, if rows == 2, 2th + 1; an odd OW keeps
// the last tile's first column only.
void transform_output_row(const float* m, int64_t pos_stride, int64_t ow, int64_t rows, float* y0) {
    float* y1 = y0 + ow;
    const int64_t full = ow / 2;  // tiles with both columns inside
    if (rows == 2) {
#pragma omp simd
        for (int64_t t = 0; t < full; ++t) {
            float y[2][2];
            output_tile(m, pos_stride, t, y);
            y0[2 * t] = y[0][0], y0[2 * t + 1] = y[0][1];
            y1[2 * t] = y[1][0], y1[2 * t + 1] = y[1][1];
        }
    } else {
#pragma omp simd
        for (int64_t t = 0; t < full; ++t) {
            float y[2][2];
            output_tile(m, pos_stride, t, y);
            y0[2 * t] = y[0][0], y0[2 * t + 1] = y[0][1];
        }
    }
    if (ow % 2 != 0) {
        float y[2][2];
        output_tile(m, pos_stride, full, y);
        y0[2 * full] = y[0][0];
        if (rows == 2) y1[2 * full] = y[1][0];
    }
}

// E v E^T for E = [1 0; 1 1; 0 1], which is both G (the filter transform) and A (the adjoint
// of the output transform): a 2x2 block to the 9 positions, out[p * pos_stride].
inline void expand_2x2(float v00, float v01, float v10, float v11, float* out, int64_t pos_stride) {
    const float r10 = v00 + v10, r11 = v01 + v11;  // E v: rows 0, 0 + 1, 1
    out[0 * pos_stride] = v00;
    out[1 * pos_stride] = v00 + v01;
    out[2 * pos_stride] = v01;
    out[3 * pos_stride] = r10;
    out[4 * pos_stride] = r10 + r11;
    out[5 * pos_stride] = r11;
    out[6 * pos_stride] = v10;
    out[7 * pos_stride] = v10 + v11;
    out[8 * pos_stride] = v11;
}

// dM = A gy A^T for one tile (the adjoint of the output transform), vectorised over the C_out
// channels of a channels-last gy; g00 .. g11 the tile's 4 pixels.
void transform_gy_tile(const float* g00, const float* g01, const float* g10, const float* g11, int64_t c,
                       float* dm, int64_t pos_stride) {
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) expand_2x2(g00[k], g01[k], g10[k], g11[k], dm + k, pos_stride);
}

// U [9, C_out, 4*C_in]: U_p[co][(a*2 + b)*C_in + ci] = (G g G^T)_p with
// g[m][l] = w[co][ci][2m + a][2l + b]. The loop runs over ci innermost, so the 9 rows it
// writes are contiguous (writing each (co, ci)'s 9 values 9 rows apart cost 13% of the conv).
void transform_weights(const Conv2dShape& s, const float* w, float* u) {
    const int64_t k = kPhases * s.c_in, pos_stride = s.c_out * k;
    for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b) {
                const float* f = w + co * s.c_in * 16;
                float* out = u + co * k + (a * 2 + b) * s.c_in;
#pragma omp simd
                for (int64_t ci = 0; ci < s.c_in; ++ci)
                    expand_2x2(f[ci * 16 + a * 4 + b], f[ci * 16 + a * 4 + 2 + b], f[ci * 16 + (2 + a) * 4 + b],
                               f[ci * 16 + (2 + a) * 4 + 2 + b], out + ci, pos_stride);
            }
}

// gw = G^T dU G (the adjoint of transform_weights): G^T v = [v0 + v1, v1 + v2].
void transform_weights_adjoint(const Conv2dShape& s, const float* du, float* gw) {
    const int64_t k = kPhases * s.c_in, pos_stride = s.c_out * k;
    for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b) {
                float* f = gw + co * s.c_in * 16;
                const float* in = du + co * k + (a * 2 + b) * s.c_in;
#pragma omp simd
                for (int64_t ci = 0; ci < s.c_in; ++ci) {
                    float e[3][2];  // dU G, row by row
                    for (int r = 0; r < 3; ++r) {
                        const float v0 = in[(3 * r + 0) * pos_stride + ci], v1 = in[(3 * r + 1) * pos_stride + ci],
                                    v2 = in[(3 * r + 2) * pos_stride + ci];
                        e[r][0] = v0 + v1;
                        e[r][1] = v1 + v2;
                    }
                    f[ci * 16 + a * 4 + b] = e[0][0] + e[1][0];
                    f[ci * 16 + a * 4 + 2 + b] = e[0][1] + e[1][1];
                    f[ci * 16 + (2 + a) * 4 + b] = e[1][0] + e[2][0];
                    f[ci * 16 + (2 + a) * 4 + 2 + b] = e[1][1] + e[2][1];
                }
            }
}

// ---- whole chunks ------------------------------------------------------------------------

// V^T [9, chunk*T, K] (k = phase * C_in + ci) for images [n0, n0 + images) of x; columns =
// chunk*T. xt: H*W*C_in + C_in elements of scratch.
void transform_input(const Conv2dShape& s, const Tiling& t, const float* x, int64_t n0, int64_t images,
                     int64_t columns, float* vt, float* xt) {
    const int64_t pos_stride = columns * t.k;
    float* zeros = xt + s.h * s.w * s.c_in;
    std::fill(zeros, zeros + s.c_in, 0.0f);
    for (int64_t i = 0; i < images; ++i) {
        to_channels_last(x + (n0 + i) * s.c_in * s.h * s.w, s.c_in, s.h * s.w, xt);
        for (int64_t th = 0; th < t.th; ++th)
            for (int64_t tw = 0; tw < t.tw; ++tw) {
                float* row = vt + (i * t.tiles + th * t.tw + tw) * t.k;
                for (int64_t a = 0; a < 2; ++a)
                    for (int64_t b = 0; b < 2; ++b)
                        transform_input_tile(phase_tile(xt, s.h, s.w, s.c_in, th, tw, a, b, zeros), s.c_in,
                                             row + (a * 2 + b) * s.c_in, pos_stride);
            }
    }
}

// gx for images [n0, n0 + images) from dV^T [9, chunk*T, K]: accumulated channels-last in
// xt (H*W*C_in + C_in elements of scratch, the last C_in the padding's sink), then transposed.
void transform_input_adjoint(const Conv2dShape& s, const Tiling& t, const float* dvt, int64_t n0, int64_t images,
                             int64_t columns, float* gx, float* xt) {
    const int64_t pos_stride = columns * t.k, pixels = s.h * s.w;
    float* sink = xt + pixels * s.c_in;
    for (int64_t i = 0; i < images; ++i) {
        std::fill(xt, xt + pixels * s.c_in, 0.0f);
        for (int64_t th = 0; th < t.th; ++th)
            for (int64_t tw = 0; tw < t.tw; ++tw) {
                const float* row = dvt + (i * t.tiles + th * t.tw + tw) * t.k;
                for (int64_t a = 0; a < 2; ++a)
                    for (int64_t b = 0; b < 2; ++b)
                        transform_input_tile_adjoint(row + (a * 2 + b) * s.c_in, pos_stride, s.c_in,
                                                     phase_tile(xt, s.h, s.w, s.c_in, th, tw, a, b, sink));
            }
        from_channels_last(xt, s.c_in, pixels, gx + (n0 + i) * s.c_in * pixels);
    }
}

// y for images [n0, n0 + images) from M [9, C_out, chunk*T].
void transform_output(const Conv2dShape& s, const Tiling& t, const float* m, int64_t n0, int64_t images,
                      int64_t columns, float* y) {
    const int64_t pos_stride = s.c_out * columns;
    for (int64_t i = 0; i < images; ++i)
        for (int64_t co = 0; co < s.c_out; ++co) {
            float* plane = y + ((n0 + i) * s.c_out + co) * s.oh * s.ow;
            for (int64_t th = 0; th < t.th; ++th)
                transform_output_row(m + co * columns + i * t.tiles + th * t.tw, pos_stride, s.ow,
                                     std::min<int64_t>(2, s.oh - 2 * th), plane + 2 * th * s.ow);
        }
}

// dM^T [9, chunk*T, C_out] for images [n0, n0 + images) of gy; gyt: OH*OW*C_out + C_out of
// scratch, the last C_out zeros: the gradient of the padded outputs (odd OH or OW).
void transform_gy(const Conv2dShape& s, const Tiling& t, const float* gy, int64_t n0, int64_t images,
                  int64_t columns, float* dmt, float* gyt) {
    const int64_t pos_stride = columns * s.c_out, pixels = s.oh * s.ow;
    const float* zeros = gyt + pixels * s.c_out;
    std::fill(gyt + pixels * s.c_out, gyt + (pixels + 1) * s.c_out, 0.0f);
    const auto pixel = [&](int64_t r, int64_t c) {
        return r < s.oh && c < s.ow ? gyt + (r * s.ow + c) * s.c_out : zeros;
    };
    for (int64_t i = 0; i < images; ++i) {
        to_channels_last(gy + (n0 + i) * s.c_out * pixels, s.c_out, pixels, gyt);
        for (int64_t th = 0; th < t.th; ++th)
            for (int64_t tw = 0; tw < t.tw; ++tw) {
                const int64_t r = 2 * th, c = 2 * tw;
                transform_gy_tile(pixel(r, c), pixel(r, c + 1), pixel(r + 1, c), pixel(r + 1, c + 1), s.c_out,
                                  dmt + (i * t.tiles + th * t.tw + tw) * s.c_out, pos_stride);
            }
    }
}

// The 9 products in one batched call of the active GEMM (single-threaded inside a block).
void gemm9(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float* c, int64_t ldc, double beta) {
    GemmArgs g;
    g.trans_a = trans_a;
    g.trans_b = trans_b;
    g.m = m, g.n = n, g.k = k, g.lda = lda, g.ldb = ldb, g.ldc = ldc;
    g.batch = kPositions;
    g.stride_a = m * k, g.stride_b = k * n, g.stride_c = m * n;
    g.beta = beta;
    gemm_table().get(Device::CPU, DType::Float32)(g, a, b, c);
}

// A thread's scratch for one chunk: V^T (or dV^T), M (or dM^T), one image of x channels-last
// with a row of C_in zeros (or the padding's sink), one image of gy channels-last with a row
// of C_out zeros.
struct ChunkScratch {
    float *v, *m, *image, *gy_image;
};

// body(thread, n0, images, columns, scratch) for each chunk of each thread's block of images,
// in order; returns the number of blocks.
template <class Body>
int for_each_chunk(const Conv2dShape& s, const Tiling& t, Body body) {
    return for_each_image_block(s.n, [&](int thread, int, int64_t first, int64_t end) {
        const int64_t image = (s.h * s.w + 1) * s.c_in;
        const int64_t gy_image = s.c_out * (s.oh * s.ow + 1);
        float* v = thread_scratch<float>(Scratch::conv_columns, t.v_chunk + t.m_chunk + image + gy_image);
        const ChunkScratch scratch{v, v + t.v_chunk, v + t.v_chunk + t.m_chunk, v + t.v_chunk + t.m_chunk + image};
        for (int64_t n0 = first; n0 < end; n0 += t.chunk) {
            const int64_t images = std::min(t.chunk, end - n0);
            body(thread, n0, images, images * t.tiles, scratch);
        }
    });
}

// forward (y from x) and backward_input (gx from gy) share the pipeline: U once, then per chunk
// a transform in, the 9 GEMMs, a transform out.
void run_with_weights(const Conv2dShape& s, bool forward, const float* in, const float* w, float* out) {
    const Tiling t = tiling(s);
    float* u = thread_scratch<float>(Scratch::conv_staging, kPositions * s.c_out * t.k);  // shared, read-only
    transform_weights(s, w, u);
    for_each_chunk(s, t, [&](int, int64_t n0, int64_t images, int64_t columns, const ChunkScratch& b) {
        if (forward) {
            transform_input(s, t, in, n0, images, columns, b.v, b.image);
            gemm9(false, true, s.c_out, columns, t.k, u, t.k, b.v, t.k, b.m, columns, 0.0);
            transform_output(s, t, b.m, n0, images, columns, out);
        } else {
            transform_gy(s, t, in, n0, images, columns, b.m, b.gy_image);
            gemm9(false, false, columns, t.k, s.c_out, b.m, s.c_out, u, t.k, b.v, t.k, 0.0);
            transform_input_adjoint(s, t, b.v, n0, images, columns, out, b.image);
        }
    });
}

}  // namespace

void conv2d_forward_winograd_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (!conv2d_winograd_fits(s)) return conv2d_forward_polyphase_f32(s, x, w, y);
    run_with_weights(s, true, static_cast<const float*>(x), static_cast<const float*>(w), static_cast<float*>(y));
}

void conv2d_backward_input_winograd_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    if (!conv2d_winograd_fits(s)) return conv2d_backward_input_polyphase_f32(s, gy, w, gx);
    run_with_weights(s, false, static_cast<const float*>(gy), static_cast<const float*>(w), static_cast<float*>(gx));
}

void conv2d_backward_weight_winograd_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    check_conv2d_shape("conv2d_backward_weight", s);
    if (!conv2d_winograd_fits(s)) return conv2d_backward_weight_polyphase_f32(s, x, gy, gw);
    const Tiling t = tiling(s);
    const int64_t du_size = kPositions * s.c_out * t.k;
    // Each thread's dU (every block has images: N >= threads); the first chunk overwrites it.
    std::vector<float*> partials(size_t(std::max(1, max_threads())), nullptr);
    const int blocks =
        for_each_chunk(s, t, [&](int thread, int64_t n0, int64_t images, int64_t columns, const ChunkScratch& b) {
            float*& du = partials[size_t(thread)];
            const bool first = du == nullptr;
            if (first) du = thread_scratch<float>(Scratch::conv_staging, du_size);
            transform_input(s, t, static_cast<const float*>(x), n0, images, columns, b.v, b.image);
            transform_gy(s, t, static_cast<const float*>(gy), n0, images, columns, b.m, b.gy_image);
            gemm9(true, false, s.c_out, t.k, columns, b.m, s.c_out, b.v, t.k, du, t.k, first ? 0.0 : 1.0);
        });
    float* du = partials[0];
    for (int b = 1; b < blocks; ++b) {  // in thread order: the same bits for a given thread count
        const float* p = partials[size_t(b)];
        if (p)
            for (int64_t i = 0; i < du_size; ++i) du[i] += p[i];
    }
    transform_weights_adjoint(s, du, static_cast<float*>(gw));
}

}  // namespace mg::kernels::cpu
