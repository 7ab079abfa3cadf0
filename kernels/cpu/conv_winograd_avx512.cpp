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
// dM^T [9, T, C_out]. M stays [9, C_out, T]: y's transform is vectorised over the chunk's tiles.
// Vectorised over the tiles of a row (4 at 8x8 outputs) the input-side transforms took 45% of
// the time; over the channels (>= 16) all transforms together take ~17%.
// The chunks of images, threads and batched GEMMs are conv_winograd_pipeline.h's, shared with
// the 3x3 stride-1 convs' F(2x2, 3x3) (conv_winograd3x3_avx512.cpp).

#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/conv_winograd_pipeline.h"

namespace mg::kernels::cpu {
namespace {

constexpr int64_t kPositions = 9;  // the transformed 3x3 tile
constexpr int64_t kPhases = 4;

// Both channel counts at least this: below it the transforms, not the GEMMs, dominate (at 8
// a tie, at 4 2.3x slower; docs/kernels.md). D's first conv (C_in = 3) and G's last
// transposed conv (its conv's C_in = 3) stay on polyphase.
constexpr int64_t kMinChannels = 16;


// ---- the transforms -------------------------------------------------------------------------

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

// One tile's V, k = phase * C_in + ci: the 4 phases' 3x3 tiles transformed (x channels-last in
// xt; `outside` the zeros the padding reads).
void input_tile(const Conv2dShape& s, float* xt, int64_t th, int64_t tw, float* outside, float* row,
                int64_t pos_stride) {
    for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 2; ++b)
            transform_input_tile(phase_tile(xt, s.h, s.w, s.c_in, th, tw, a, b, outside), s.c_in,
                                 row + (a * 2 + b) * s.c_in, pos_stride);
}

// The adjoint: one tile's dV scattered into the 4 phases of xt (`outside` the padding's sink).
void input_tile_adjoint(const Conv2dShape& s, const float* row, int64_t pos_stride, float* xt, int64_t th,
                        int64_t tw, float* outside) {
    for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 2; ++b)
            transform_input_tile_adjoint(row + (a * 2 + b) * s.c_in, pos_stride, s.c_in,
                                         phase_tile(xt, s.h, s.w, s.c_in, th, tw, a, b, outside));
}

// Y = A^T M A for the 16 tiles at m (lanes; A^T v = [v0 + v1, v1 + v2]): position p at
// m + p * pos_stride, the outputs y00, y01, y10, y11 at yt + 0, 1, 2, 3 times yt_stride.
void output_tiles(const float* m, int64_t pos_stride, __mmask16 lanes, float* yt, int64_t yt_stride) {
    __m512 r0[3], r1[3];  // A^T M: rows 0 + 1 and 1 + 2
    for (int j = 0; j < 3; ++j) {
        const __m512 m0 = _mm512_maskz_loadu_ps(lanes, m + j * pos_stride),
                     m1 = _mm512_maskz_loadu_ps(lanes, m + (3 + j) * pos_stride),
                     m2 = _mm512_maskz_loadu_ps(lanes, m + (6 + j) * pos_stride);
        r0[j] = _mm512_add_ps(m0, m1);
        r1[j] = _mm512_add_ps(m1, m2);
    }
    _mm512_mask_storeu_ps(yt, lanes, _mm512_add_ps(r0[0], r0[1]));
    _mm512_mask_storeu_ps(yt + yt_stride, lanes, _mm512_add_ps(r0[1], r0[2]));
    _mm512_mask_storeu_ps(yt + 2 * yt_stride, lanes, _mm512_add_ps(r1[0], r1[1]));
    _mm512_mask_storeu_ps(yt + 3 * yt_stride, lanes, _mm512_add_ps(r1[1], r1[2]));
}

// F(2x2, 2x2) over the 4 phases of a 4x4 stride-2 pad-1 conv, for the shared pipeline.
struct Phases4x4 {
    static constexpr int64_t positions = kPositions, phases = kPhases;
    // Measured (1 thread, CPU ms per face, 128 / 256 / 512 / 2048): 64 -> 128 at 16x16 forward
    // 8.3 / 9.3 / 10.0 / 9.8, 128 -> 256 at 8x8 8.6 / 8.5 / 8.5 / 8.7, 256 -> 512 at 8x8
    // 30.7 / 30.5 / 30.5 / 31.0.
    static constexpr int64_t target_tiles = 256;
    static bool fits(const Conv2dShape& s) {
        return s.kh == 4 && s.kw == 4 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 1 && s.pad_w == 1 &&
               s.dil_h == 1 && s.dil_w == 1 && s.groups == 1 && winograd::shape_fits<Phases4x4>(s, kMinChannels);
    }
    static constexpr auto transform_weights = &cpu::transform_weights;
    static constexpr auto transform_weights_adjoint = &cpu::transform_weights_adjoint;
    static constexpr auto input_tile = &cpu::input_tile;
    static constexpr auto input_tile_adjoint = &cpu::input_tile_adjoint;
    static constexpr auto output_tiles = &cpu::output_tiles;
    static constexpr auto transform_gy_tile = &cpu::transform_gy_tile;
};

}  // namespace

bool conv2d_winograd_fits(const Conv2dShape& s) { return Phases4x4::fits(s) || conv2d_winograd3x3_fits(s); }

// The 4x4 stride-2 convs here, the 3x3 stride-1 ones in conv_winograd3x3_avx512.cpp, the rest
// on polyphase.
void conv2d_forward_winograd_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (conv2d_winograd3x3_fits(s)) return conv2d_forward_winograd3x3_f32(s, x, w, y);
    if (!Phases4x4::fits(s)) return conv2d_forward_polyphase_f32(s, x, w, y);
    winograd::run_with_weights<Phases4x4>(s, true, static_cast<const float*>(x), static_cast<const float*>(w),
                                          static_cast<float*>(y));
}

void conv2d_backward_input_winograd_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    if (conv2d_winograd3x3_fits(s)) return conv2d_backward_input_winograd3x3_f32(s, gy, w, gx);
    if (!Phases4x4::fits(s)) return conv2d_backward_input_polyphase_f32(s, gy, w, gx);
    winograd::run_with_weights<Phases4x4>(s, false, static_cast<const float*>(gy), static_cast<const float*>(w),
                                          static_cast<float*>(gx));
}

void conv2d_backward_weight_winograd_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    check_conv2d_shape("conv2d_backward_weight", s);
    if (conv2d_winograd3x3_fits(s)) return conv2d_backward_weight_winograd3x3_f32(s, x, gy, gw);
    if (!Phases4x4::fits(s)) return conv2d_backward_weight_polyphase_f32(s, x, gy, gw);
    winograd::backward_weight<Phases4x4>(s, static_cast<const float*>(x), static_cast<const float*>(gy),
                                         static_cast<float*>(gw));
}

}  // namespace mg::kernels::cpu
