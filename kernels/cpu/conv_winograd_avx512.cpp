// conv2d "winograd" (float32, AVX-512 machines): the 4x4 stride-2 pad-1 convolution of the
// dcgan family with Winograd's minimal filtering F(2x2, 2x2), 9 multiplies per 2x2 output
// tile and phase instead of 16 (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"). Shapes: x [N, C_in, H, W], w [C_out, C_in, 4, 4], y [N, C_out, OH, OW], OH and
// OW even, H in {2*OH, 2*OH + 1} (likewise W).
//
// The polyphase split (conv_polyphase.cpp) makes the conv a sum over x's 4 phases
// (a, b) of 2x2 stride-1 correlations: phase P_ab[u][v] = x_pad[2u + a][2v + b] with the
// filter g_ab[m][l] = w[2m + a][2l + b]. Output tile (th, tw), y rows 2th..2th+1 and columns
// 2tw..2tw+1, reads the 3x3 tile d of each phase at (2th, 2tw), i.e. x_pad's 6x6 window at
// (4th, 4tw). In one dimension, with the interpolation points 0, 1 and infinity:
//   B^T = [1 -1 0; 0 1 0; 0 -1 1]   G = [1 0; 1 1; 0 1]   A^T = [1 1 0; 0 1 1]
//   y0 = d0 g0 + d1 g1 = m0 + m1,  y1 = d1 g0 + d2 g1 = m1 + m2,  m = (B^T d) . (G g)
// Every entry is 0 or +-1: the transforms only add, and the float32 error stays that of a
// sum of 4 C_in products per position (docs/kernels.md gives the measured error).
// In two dimensions V = B^T d B, U = G g G^T, Y = A^T M A, and summed over channels and
// phases, with k = ci*4 + phase and T tiles (a chunk of images side by side), one GEMM per
// transformed position p = 0..8 (one batched GEMM call):
//   forward          M_p [C_out, T]  = U_p [C_out, 4*C_in] · V_p [4*C_in, T],   y = A^T M A
//   backward_input   dV_p [4*C_in, T] = U_p^T · dM_p,  dM = A gy A^T,  gx = scatter of B dV B^T
//   backward_weight  dU_p [C_out, 4*C_in] = sum over chunks dM_p · V_p^T,  gw = G^T dU G
// The backward faces are the exact adjoints of forward's transforms, so the three faces
// compute one trilinear form (the adjoint test in tests/test_conv_kernels.cpp).
//
// Layout: the transforms run over one row of tiles at a time, vectorised over tw: a row of
// x_pad's 6x6 windows is first cut into Q[6][4][TW + 1], Q[r][c][u] = x_pad[4th + r][4u + c]
// (the window's columns 4 and 5 are those of u + 1), so every later loop is contiguous.
//
// Threads: one block of images per thread, the GEMM single-threaded inside it (as polyphase).
// Forward and backward_input: every output depends on its own image only, and the blocked
// GEMM's columns do not depend on N, so the bits do not depend on the thread count;
// backward_weight adds per-thread partial dU in thread order before the final transform.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit_driver.h"
#include "kernels/cpu/conv_variants.h"

namespace mg::kernels::cpu {
namespace {

constexpr int64_t kPositions = 9;  // the transformed 3x3 tile
constexpr int64_t kPhases = 4;

// Both channel counts at least this: below it the transforms, not the GEMMs, dominate
// (D's first conv, C_in = 3, and G's last, C_out = 3 in the conv's terms C_in = 3, stay on
// polyphase; docs/kernels.md has the measurement).
constexpr int64_t kMinChannels = 16;
// Images per GEMM until its N reaches this many tiles (as im2col's kTargetGemmColumns).
constexpr int64_t kTargetTiles = 512;
// A chunk's V and M stop growing at this many elements (16 MB in float32).
constexpr int64_t kMaxChunkElements = int64_t(1) << 22;

struct Tiling {
    int64_t th, tw, tiles;  // tile rows and columns per image, tiles = th * tw
    int64_t k;              // 4 * C_in: the GEMMs' reduction over channels and phases
    int64_t chunk;          // images per GEMM
    int64_t v_chunk, m_chunk;  // elements of a chunk's V [9, K, chunk*T] and M [9, C_out, chunk*T]
};

Tiling tiling(const Conv2dShape& s) {
    Tiling t;
    t.th = s.oh / 2;
    t.tw = s.ow / 2;
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
    if (!conv4x4s2p1 || s.oh % 2 != 0 || s.ow % 2 != 0 || s.oh * s.ow < 8) return false;
    if (s.c_in < kMinChannels || s.c_out < kMinChannels || s.n < max_threads()) return false;
    const int64_t limit = int64_t(1) << 30;
    return s.c_in * s.h * s.w < limit && s.c_out * s.oh * s.ow < limit &&
           kPositions * (kPhases * s.c_in + s.c_out) * (s.oh / 2) * (s.ow / 2) < limit &&
           kPositions * s.c_out * kPhases * s.c_in < limit;
}

namespace {

// ---- the transforms, one tile row at a time, vectorised over the TW tiles ---------------

// The window columns u of one row whose 4 columns 4u - 1 .. 4u + 2 all lie in [0, w):
// [1, full_end); the rest (u = 0 and the right edge) take the bounds check.
int64_t full_end(int64_t u_count, int64_t w) { return std::max<int64_t>(1, std::min(u_count, (w - 3) / 4 + 1)); }

// Q [6][4][TW + 1]: Q[r][c][u] = x_pad[4th + r][4u + c] = x[4th - 1 + r][4u - 1 + c], 0 in
// the padding. The 4 classes of a row are read together (one interleaved group of loads).
void cut_windows(const float* plane, int64_t h, int64_t w, int64_t th, int64_t tw, float* q) {
    const int64_t u_count = tw + 1, end = full_end(u_count, w);
    for (int64_t r = 0; r < 6; ++r) {
        const int64_t row = 4 * th - 1 + r;
        float *q0 = q + r * 4 * u_count, *q1 = q0 + u_count, *q2 = q1 + u_count, *q3 = q2 + u_count;
        if (row < 0 || row >= h) {
            std::fill(q0, q0 + 4 * u_count, 0.0f);
            continue;
        }
        const float* src = plane + row * w - 1;  // src[4u + c] = x[row][4u - 1 + c]
        auto edge = [&](int64_t u) {
            for (int64_t c = 0; c < 4; ++c) {
                const int64_t col = 4 * u - 1 + c;
                q0[c * u_count + u] = col >= 0 && col < w ? src[4 * u + c] : 0.0f;
            }
        };
        edge(0);
        for (int64_t u = 1; u < end; ++u) {
            q0[u] = src[4 * u];
            q1[u] = src[4 * u + 1];
            q2[u] = src[4 * u + 2];
            q3[u] = src[4 * u + 3];
        }
        for (int64_t u = end; u < u_count; ++u) edge(u);
    }
}

// V = B^T d B for the 4 phases of one tile row: phase (a, b) at v + (2a + b) * phase_stride,
// position p at + p * pos_stride, tile tw at + tw.
// d[i][j] of phase (a, b) at tile tw = Q[2i + a][(2j + b) % 4][tw + (2j + b) / 4].
void transform_input_row(const float* q, int64_t tw, float* v, int64_t phase_stride, int64_t pos_stride) {
    const int64_t u_count = tw + 1;
    for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 2; ++b) {
            auto row = [&](int64_t i, int64_t c) { return q + ((2 * i + a) * 4 + c) * u_count; };
            const float *d00 = row(0, b), *d01 = row(0, 2 + b), *d02 = row(0, b) + 1;
            const float *d10 = row(1, b), *d11 = row(1, 2 + b), *d12 = row(1, b) + 1;
            const float *d20 = row(2, b), *d21 = row(2, 2 + b), *d22 = row(2, b) + 1;
            float* out = v + (a * 2 + b) * phase_stride;
#pragma omp simd
            for (int64_t t = 0; t < tw; ++t) {
                // e = d B (columns), then V = B^T e (rows); B^T v = [v0 - v1, v1, v2 - v1].
                const float e00 = d00[t] - d01[t], e01 = d01[t], e02 = d02[t] - d01[t];
                const float e10 = d10[t] - d11[t], e11 = d11[t], e12 = d12[t] - d11[t];
                const float e20 = d20[t] - d21[t], e21 = d21[t], e22 = d22[t] - d21[t];
                out[0 * pos_stride + t] = e00 - e10;
                out[1 * pos_stride + t] = e01 - e11;
                out[2 * pos_stride + t] = e02 - e12;
                out[3 * pos_stride + t] = e10;
                out[4 * pos_stride + t] = e11;
                out[5 * pos_stride + t] = e12;
                out[6 * pos_stride + t] = e20 - e10;
                out[7 * pos_stride + t] = e21 - e11;
                out[8 * pos_stride + t] = e22 - e12;
            }
        }
}

// The adjoint of transform_input_row: Q += the 4 phases' B dV B^T (B v = [v0, v1 - v0 - v2, v2]).
void transform_input_row_adjoint(const float* dv, int64_t tw, int64_t phase_stride, int64_t pos_stride, float* q,
                                 float* shifted) {
    const int64_t u_count = tw + 1;
    for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 2; ++b) {
            const float* in = dv + (a * 2 + b) * phase_stride;
            auto row = [&](int64_t i, int64_t c) { return q + ((2 * i + a) * 4 + c) * u_count; };
            float *d00 = row(0, b), *d01 = row(0, 2 + b), *s0 = shifted;
            float *d10 = row(1, b), *d11 = row(1, 2 + b), *s1 = shifted + tw;
            float *d20 = row(2, b), *d21 = row(2, 2 + b), *s2 = shifted + 2 * tw;
#pragma omp simd
            for (int64_t t = 0; t < tw; ++t) {
                const float v00 = in[0 * pos_stride + t], v01 = in[1 * pos_stride + t], v02 = in[2 * pos_stride + t];
                const float v10 = in[3 * pos_stride + t], v11 = in[4 * pos_stride + t], v12 = in[5 * pos_stride + t];
                const float v20 = in[6 * pos_stride + t], v21 = in[7 * pos_stride + t], v22 = in[8 * pos_stride + t];
                // e = B dV (rows), then d = e B^T (columns).
                const float e00 = v00, e01 = v01, e02 = v02;
                const float e10 = v10 - v00 - v20, e11 = v11 - v01 - v21, e12 = v12 - v02 - v22;
                const float e20 = v20, e21 = v21, e22 = v22;
                d00[t] += e00;
                d01[t] += e01 - e00 - e02;
                s0[t] = e02;
                d10[t] += e10;
                d11[t] += e11 - e10 - e12;
                s1[t] = e12;
                d20[t] += e20;
                d21[t] += e21 - e20 - e22;
                s2[t] = e22;
            }
            // Column 2 of each tile is column 0 of the next window: Q[.][b][t + 1].
            for (int64_t i = 0; i < 3; ++i) {
                float* d = row(i, b) + 1;
                const float* s = shifted + i * tw;
#pragma omp simd
                for (int64_t t = 0; t < tw; ++t) d[t] += s[t];
            }
        }
}

// Writes Q's rows [r0, r1) into gx rows 4th - 1 + r (those inside [0, h)), interleaving
// the 4 column classes: the adjoint of cut_windows for the rows that no later tile row adds to.
void write_window_rows(const float* q, int64_t th, int64_t tw, int64_t r0, int64_t r1, int64_t h, int64_t w,
                       float* plane) {
    const int64_t u_count = tw + 1, end = full_end(u_count, w);
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t row = 4 * th - 1 + r;
        if (row < 0 || row >= h) continue;
        const float *q0 = q + r * 4 * u_count, *q1 = q0 + u_count, *q2 = q1 + u_count, *q3 = q2 + u_count;
        float* dst = plane + row * w - 1;  // dst[4u + c] = gx[row][4u - 1 + c]
        auto edge = [&](int64_t u) {
            for (int64_t c = 0; c < 4; ++c) {
                const int64_t col = 4 * u - 1 + c;
                if (col >= 0 && col < w) dst[4 * u + c] = q0[c * u_count + u];
            }
        };
        edge(0);
        for (int64_t u = 1; u < end; ++u) {
            dst[4 * u] = q0[u];
            dst[4 * u + 1] = q1[u];
            dst[4 * u + 2] = q2[u];
            dst[4 * u + 3] = q3[u];
        }
        for (int64_t u = end; u < u_count; ++u) edge(u);
    }
}

// Y = A^T M A for one tile row of one output plane: y rows 2th, 2th + 1.
void transform_output_row(const float* m, int64_t pos_stride, int64_t tw, int64_t ow, float* y0) {
    float* y1 = y0 + ow;
#pragma omp simd
    for (int64_t t = 0; t < tw; ++t) {
        float r0[3], r1[3];  // A^T M: rows 0+1 and 1+2
        for (int c = 0; c < 3; ++c) {
            const float m0 = m[(0 + c) * pos_stride + t], m1 = m[(3 + c) * pos_stride + t],
                        m2 = m[(6 + c) * pos_stride + t];
            r0[c] = m0 + m1;
            r1[c] = m1 + m2;
        }
        y0[2 * t] = r0[0] + r0[1];
        y0[2 * t + 1] = r0[1] + r0[2];
        y1[2 * t] = r1[0] + r1[1];
        y1[2 * t + 1] = r1[1] + r1[2];
    }
}

// dM = A gy A^T for one tile row (the adjoint of transform_output_row): A v = [v0, v0 + v1, v1].
void transform_gy_row(const float* g0, int64_t ow, int64_t tw, float* dm, int64_t pos_stride) {
    const float* g1 = g0 + ow;
#pragma omp simd
    for (int64_t t = 0; t < tw; ++t) {
        const float a00 = g0[2 * t], a01 = g0[2 * t + 1], a10 = g1[2 * t], a11 = g1[2 * t + 1];
        const float rows[3][2] = {{a00, a01}, {a00 + a10, a01 + a11}, {a10, a11}};
        for (int r = 0; r < 3; ++r) {
            dm[(3 * r + 0) * pos_stride + t] = rows[r][0];
            dm[(3 * r + 1) * pos_stride + t] = rows[r][0] + rows[r][1];
            dm[(3 * r + 2) * pos_stride + t] = rows[r][1];
        }
    }
}

// U [9, C_out, 4*C_in]: U_p[co][ci*4 + a*2 + b] = (G g G^T)_p with g[m][l] = w[co][ci][2m + a][2l + b].
void transform_weights(const Conv2dShape& s, const float* w, float* u) {
    const int64_t k = kPhases * s.c_in, pos_stride = s.c_out * k;
    for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t ci = 0; ci < s.c_in; ++ci) {
            const float* f = w + (co * s.c_in + ci) * 16;
            for (int64_t a = 0; a < 2; ++a)
                for (int64_t b = 0; b < 2; ++b) {
                    const float g00 = f[a * 4 + b], g01 = f[a * 4 + 2 + b], g10 = f[(2 + a) * 4 + b],
                                g11 = f[(2 + a) * 4 + 2 + b];
                    const float rows[3][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g10, g11}};  // G g
                    float* out = u + co * k + ci * kPhases + a * 2 + b;
                    for (int r = 0; r < 3; ++r) {
                        out[(3 * r + 0) * pos_stride] = rows[r][0];
                        out[(3 * r + 1) * pos_stride] = rows[r][0] + rows[r][1];
                        out[(3 * r + 2) * pos_stride] = rows[r][1];
                    }
                }
        }
}

// gw = G^T dU G (the adjoint of transform_weights): G^T v = [v0 + v1, v1 + v2].
void transform_weights_adjoint(const Conv2dShape& s, const float* du, float* gw) {
    const int64_t k = kPhases * s.c_in, pos_stride = s.c_out * k;
    for (int64_t co = 0; co < s.c_out; ++co)
        for (int64_t ci = 0; ci < s.c_in; ++ci) {
            float* f = gw + (co * s.c_in + ci) * 16;
            for (int64_t a = 0; a < 2; ++a)
                for (int64_t b = 0; b < 2; ++b) {
                    const float* in = du + co * k + ci * kPhases + a * 2 + b;
                    float e[3][2];  // dU G, row by row
                    for (int r = 0; r < 3; ++r) {
                        const float v0 = in[(3 * r + 0) * pos_stride], v1 = in[(3 * r + 1) * pos_stride],
                                    v2 = in[(3 * r + 2) * pos_stride];
                        e[r][0] = v0 + v1;
                        e[r][1] = v1 + v2;
                    }
                    f[a * 4 + b] = e[0][0] + e[1][0];
                    f[a * 4 + 2 + b] = e[0][1] + e[1][1];
                    f[(2 + a) * 4 + b] = e[1][0] + e[2][0];
                    f[(2 + a) * 4 + 2 + b] = e[1][1] + e[2][1];
                }
        }
}

// ---- whole chunks ------------------------------------------------------------------------

// V [9, K, chunk*T] for images [n0, n0 + images) of x; columns = chunk*T (V's row length).
void transform_input(const Conv2dShape& s, const Tiling& t, const float* x, int64_t n0, int64_t images,
                     int64_t columns, float* v, float* q) {
    const int64_t pos_stride = t.k * columns;
    for (int64_t i = 0; i < images; ++i)
        for (int64_t ci = 0; ci < s.c_in; ++ci) {
            const float* plane = x + ((n0 + i) * s.c_in + ci) * s.h * s.w;
            for (int64_t th = 0; th < t.th; ++th) {
                cut_windows(plane, s.h, s.w, th, t.tw, q);
                transform_input_row(q, t.tw, v + ci * kPhases * columns + i * t.tiles + th * t.tw, columns,
                                    pos_stride);
            }
        }
}

// gx for images [n0, n0 + images) from dV [9, K, chunk*T]. Window rows 4 and 5 of tile row
// th are rows 0 and 1 of th + 1: they carry over, and each gx element is written once.
void transform_input_adjoint(const Conv2dShape& s, const Tiling& t, const float* dv, int64_t n0, int64_t images,
                             int64_t columns, float* gx, float* q) {
    const int64_t pos_stride = t.k * columns, row_block = 4 * (t.tw + 1);
    float* shifted = q + 6 * row_block;
    for (int64_t i = 0; i < images; ++i)
        for (int64_t ci = 0; ci < s.c_in; ++ci) {
            float* plane = gx + ((n0 + i) * s.c_in + ci) * s.h * s.w;
            std::fill(q, q + 2 * row_block, 0.0f);
            for (int64_t th = 0; th < t.th; ++th) {
                if (th > 0) std::copy(q + 4 * row_block, q + 6 * row_block, q);
                std::fill(q + 2 * row_block, q + 6 * row_block, 0.0f);
                transform_input_row_adjoint(dv + ci * kPhases * columns + i * t.tiles + th * t.tw, t.tw, columns,
                                            pos_stride, q, shifted);
                write_window_rows(q, th, t.tw, 0, 4, s.h, s.w, plane);
            }
            write_window_rows(q, t.th - 1, t.tw, 4, 6, s.h, s.w, plane);
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
                transform_output_row(m + co * columns + i * t.tiles + th * t.tw, pos_stride, t.tw, s.ow,
                                     plane + 2 * th * s.ow);
        }
}

// dM [9, C_out, chunk*T] for images [n0, n0 + images) of gy.
void transform_gy(const Conv2dShape& s, const Tiling& t, const float* gy, int64_t n0, int64_t images,
                  int64_t columns, float* dm) {
    const int64_t pos_stride = s.c_out * columns;
    for (int64_t i = 0; i < images; ++i)
        for (int64_t co = 0; co < s.c_out; ++co) {
            const float* plane = gy + ((n0 + i) * s.c_out + co) * s.oh * s.ow;
            for (int64_t th = 0; th < t.th; ++th)
                transform_gy_row(plane + 2 * th * s.ow, s.ow, t.tw, dm + co * columns + i * t.tiles + th * t.tw,
                                 pos_stride);
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

// Q's scratch: 6 rows of 4 column classes of TW + 1, and 3 shifted rows of TW.
int64_t window_elements(const Tiling& t) { return 6 * 4 * (t.tw + 1) + 3 * t.tw; }

}  // namespace

void conv2d_forward_winograd_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (!conv2d_winograd_fits(s)) return conv2d_forward_polyphase_f32(s, x, w, y);
    const Tiling t = tiling(s);
    float* u = thread_scratch<float>(Scratch::conv_staging, kPositions * s.c_out * t.k);  // shared, read-only
    transform_weights(s, static_cast<const float*>(w), u);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        float* v = thread_scratch<float>(Scratch::conv_columns, t.v_chunk + t.m_chunk + window_elements(t));
        float *m = v + t.v_chunk, *q = m + t.m_chunk;
        for (int64_t n0 = first; n0 < end; n0 += t.chunk) {
            const int64_t images = std::min(t.chunk, end - n0), columns = images * t.tiles;
            transform_input(s, t, static_cast<const float*>(x), n0, images, columns, v, q);
            gemm9(false, false, s.c_out, columns, t.k, u, t.k, v, columns, m, columns, 0.0);
            transform_output(s, t, m, n0, images, columns, static_cast<float*>(y));
        }
    });
}

void conv2d_backward_input_winograd_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    if (!conv2d_winograd_fits(s)) return conv2d_backward_input_polyphase_f32(s, gy, w, gx);
    const Tiling t = tiling(s);
    float* u = thread_scratch<float>(Scratch::conv_staging, kPositions * s.c_out * t.k);  // shared, read-only
    transform_weights(s, static_cast<const float*>(w), u);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        float* dv = thread_scratch<float>(Scratch::conv_columns, t.v_chunk + t.m_chunk + window_elements(t));
        float *dm = dv + t.v_chunk, *q = dm + t.m_chunk;
        for (int64_t n0 = first; n0 < end; n0 += t.chunk) {
            const int64_t images = std::min(t.chunk, end - n0), columns = images * t.tiles;
            transform_gy(s, t, static_cast<const float*>(gy), n0, images, columns, dm);
            gemm9(true, false, t.k, columns, s.c_out, u, t.k, dm, columns, dv, columns, 0.0);
            transform_input_adjoint(s, t, dv, n0, images, columns, static_cast<float*>(gx), q);
        }
    });
}

void conv2d_backward_weight_winograd_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    check_conv2d_shape("conv2d_backward_weight", s);
    if (!conv2d_winograd_fits(s)) return conv2d_backward_weight_polyphase_f32(s, x, gy, gw);
    const Tiling t = tiling(s);
    const int64_t du_size = kPositions * s.c_out * t.k;
    std::vector<float*> partials(size_t(std::max(1, max_threads())), nullptr);  // each thread's dU
    const int blocks = for_each_image_block(s.n, [&](int thread, int, int64_t first, int64_t end) {
        float* du = thread_scratch<float>(Scratch::conv_staging, du_size);
        partials[size_t(thread)] = du;
        float* v = thread_scratch<float>(Scratch::conv_columns, t.v_chunk + t.m_chunk + window_elements(t));
        float *dm = v + t.v_chunk, *q = dm + t.m_chunk;
        if (first == end) std::fill(du, du + du_size, 0.0f);
        for (int64_t n0 = first; n0 < end; n0 += t.chunk) {
            const int64_t images = std::min(t.chunk, end - n0), columns = images * t.tiles;
            transform_input(s, t, static_cast<const float*>(x), n0, images, columns, v, q);
            transform_gy(s, t, static_cast<const float*>(gy), n0, images, columns, dm);
            gemm9(false, true, s.c_out, t.k, columns, dm, columns, v, columns, du, t.k, n0 == first ? 0.0 : 1.0);
        }
    });
    float* du = partials[0];
    for (int b = 1; b < blocks; ++b) {  // in thread order: the same bits for a given thread count
        const float* p = partials[size_t(b)];
        for (int64_t i = 0; i < du_size; ++i) du[i] += p[i];
    }
    transform_weights_adjoint(s, du, static_cast<float*>(gw));
}

}  // namespace mg::kernels::cpu
