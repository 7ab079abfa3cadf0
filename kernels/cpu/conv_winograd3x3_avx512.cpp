// conv2d "winograd" for 3x3 stride-1 pad-1 convolutions (float32, AVX-512 machines; the
// classifier's second conv and any VGG-like 3x3 stack): Winograd's F(2x2, 3x3), 16
// multiplies per 2x2 output tile instead of 36 (Lavin & Gray 2016). Shapes: x [N, C_in, H, W],
// w [C_out, C_in, 3, 3], y [N, C_out, H, W]. An odd H (W) pads the last tile row (column): the
// padded outputs are computed from zero input and dropped, and their gradients are zero.
//
// Output tile (th, tw), y rows 2th..2th+1 and columns 2tw..2tw+1, reads the 4x4 window d of x
// at rows 2th-1..2th+2, columns 2tw-1..2tw+2 (zero outside). In one dimension, with the
// interpolation points 0, 1, -1 and infinity:
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// and in two dimensions V = B^T d B, U = G g G^T, Y = A^T M A with M = sum over C_in of U . V:
// one GEMM per transformed position p = 0..15 (conv_winograd_pipeline.h), K = C_in. The
// backward faces use the exact adjoints (dM = A gy A^T, gx = scatter of B dV B^T,
// gw = G^T dU G), so the three faces compute one trilinear form. G's halves are exact in
// binary; the float32 error is measured against the float64 reference in
// tests/test_conv_winograd.cpp.
//
// Layout as the 4x4 scheme (conv_winograd_avx512.cpp): the input-side transforms on one image
// at a time turned channels-last, vectorised over the channels; M [16, C_out, T] transformed
// to y vectorised over all the chunk's tiles.
#include <immintrin.h>

#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/conv_winograd_pipeline.h"

namespace mg::kernels::cpu {
namespace {

constexpr int64_t kPositions = 16;  // the transformed 4x4 tile, p = 4 * row + column
// Both channel counts at least this, as for the 4x4 convs: the classifier's first conv
// (C_in = 1) stays on implicit.
constexpr int64_t kMinChannels = 16;


// ---- the 1-D transforms ----------------------------------------------------------------------

// B^T v, B v (the adjoint), G v, G^T v, A^T v, A v on values or vectors alike.
template <class T>
inline void bt4(T v0, T v1, T v2, T v3, T out[4]) {
    out[0] = v0 - v2, out[1] = v1 + v2, out[2] = v2 - v1, out[3] = v1 - v3;
}
template <class T>
inline void b4(T v0, T v1, T v2, T v3, T out[4]) {
    out[0] = v0, out[1] = v1 - v2 + v3, out[2] = v1 + v2 - v0, out[3] = -v3;
}
template <class T>
inline void g3(T v0, T v1, T v2, T out[4]) {
    const T half_sum = T(0.5) * (v0 + v2);
    out[0] = v0, out[1] = half_sum + T(0.5) * v1, out[2] = half_sum - T(0.5) * v1, out[3] = v2;
}
template <class T>
inline void gt4(T v0, T v1, T v2, T v3, T out[3]) {
    const T half_sum = T(0.5) * (v1 + v2);
    out[0] = v0 + half_sum, out[1] = T(0.5) * (v1 - v2), out[2] = half_sum + v3;
}

// ---- tiles -----------------------------------------------------------------------------------

// The 4x4 window of tile (th, tw) in a channels-last image xt [H*W, C]: d[i][j] =
// x[2th + i - 1][2tw + j - 1], a row of C channels, or `outside` (zeros to read, a sink to
// write) in the padding.
struct Window {
    float* d[4][4];
};

Window window(float* xt, int64_t h, int64_t w, int64_t c, int64_t th, int64_t tw, float* outside) {
    Window t;
    for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) {
            const int64_t row = 2 * th + i - 1, col = 2 * tw + j - 1;
            t.d[i][j] = row >= 0 && row < h && col >= 0 && col < w ? xt + (row * w + col) * c : outside;
        }
    return t;
}

// V = B^T d B for one tile, 16 channels per vector (masked at the end); position p's row at
// out + p * pos_stride. (Written with intrinsics: as a plain loop over 16 pointers, g++ left
// it scalar, and it took longer than the GEMMs at 16-64 channels.)
void transform_input_tile(const Window& t, int64_t c, float* out, int64_t pos_stride) {
    for (int64_t k = 0; k < c; k += 16) {
        const __mmask16 lanes = winograd::tail_lanes(k, c);
        __m512 e[4][4];  // e = d B: B^T on each row
        for (int i = 0; i < 4; ++i)
            bt4(_mm512_maskz_loadu_ps(lanes, t.d[i][0] + k), _mm512_maskz_loadu_ps(lanes, t.d[i][1] + k),
                _mm512_maskz_loadu_ps(lanes, t.d[i][2] + k), _mm512_maskz_loadu_ps(lanes, t.d[i][3] + k), e[i]);
        for (int j = 0; j < 4; ++j) {  // V = B^T e: B^T on each column
            __m512 v[4];
            bt4(e[0][j], e[1][j], e[2][j], e[3][j], v);
            for (int i = 0; i < 4; ++i) _mm512_mask_storeu_ps(out + (4 * i + j) * pos_stride + k, lanes, v[i]);
        }
    }
}

// The adjoint: d += B dV B^T. The 16 rows of d are distinct pixels, or the sink (updated in
// order, so taps that share it do not race).
void transform_input_tile_adjoint(const float* in, int64_t pos_stride, int64_t c, const Window& t) {
    for (int64_t k = 0; k < c; k += 16) {
        const __mmask16 lanes = winograd::tail_lanes(k, c);
        __m512 e[4][4];  // e = B dV: B on each column
        for (int j = 0; j < 4; ++j) {
            __m512 v[4];
            b4(_mm512_maskz_loadu_ps(lanes, in + j * pos_stride + k),
               _mm512_maskz_loadu_ps(lanes, in + (4 + j) * pos_stride + k),
               _mm512_maskz_loadu_ps(lanes, in + (8 + j) * pos_stride + k),
               _mm512_maskz_loadu_ps(lanes, in + (12 + j) * pos_stride + k), v);
            for (int i = 0; i < 4; ++i) e[i][j] = v[i];
        }
        for (int i = 0; i < 4; ++i) {  // d += e B^T: B on each row
            __m512 v[4];
            b4(e[i][0], e[i][1], e[i][2], e[i][3], v);
            for (int j = 0; j < 4; ++j) {
                float* d = t.d[i][j] + k;
                _mm512_mask_storeu_ps(d, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, d), v[j]));
            }
        }
    }
}

// dM = A gy A^T for one tile, vectorised over the C_out channels of a channels-last gy
// (A v = [v0, v0 + v1, v0 - v1, -v1]).
void transform_gy_tile(const float* g00, const float* g01, const float* g10, const float* g11, int64_t c,
                       float* dm, int64_t pos_stride) {
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
        const float e0[4] = {g00[k], g00[k] + g01[k], g00[k] - g01[k], -g01[k]};  // gy A^T, row 0
        const float e1[4] = {g10[k], g10[k] + g11[k], g10[k] - g11[k], -g11[k]};  // row 1
        for (int j = 0; j < 4; ++j) {  // A e on each column
            dm[j * pos_stride + k] = e0[j];
            dm[(4 + j) * pos_stride + k] = e0[j] + e1[j];
            dm[(8 + j) * pos_stride + k] = e0[j] - e1[j];
            dm[(12 + j) * pos_stride + k] = -e1[j];
        }
    }
}

// ---- the scheme's transforms over whole chunks ------------------------------------------------

struct Winograd3x3 {
    static constexpr int64_t positions = kPositions, phases = 1;
    static constexpr int64_t target_tiles = 256;  // as the 4x4 scheme: 64 / 128 / 256 measured 10.2 / 9.3 / 9.5 ms forward, within the noise

    // U [16, C_out, C_in]: U_p[co][ci] = (G g G^T)_p with g = w[co][ci], ci innermost so the 16
    // rows written are contiguous.
    static void transform_weights(const Conv2dShape& s, const float* w, float* u) {
        const int64_t pos_stride = s.c_out * s.c_in;
        for (int64_t co = 0; co < s.c_out; ++co) {
            const float* f = w + co * s.c_in * 9;
            float* out = u + co * s.c_in;
#pragma omp simd
            for (int64_t ci = 0; ci < s.c_in; ++ci) {
                const float* g = f + ci * 9;
                float e[3][4];  // g G^T: G on each row
                for (int i = 0; i < 3; ++i) g3(g[3 * i], g[3 * i + 1], g[3 * i + 2], e[i]);
                for (int j = 0; j < 4; ++j) {  // G e on each column
                    float v[4];
                    g3(e[0][j], e[1][j], e[2][j], v);
                    for (int i = 0; i < 4; ++i) out[(4 * i + j) * pos_stride + ci] = v[i];
                }
            }
        }
    }

    // gw = G^T dU G, the adjoint of transform_weights.
    static void transform_weights_adjoint(const Conv2dShape& s, const float* du, float* gw) {
        const int64_t pos_stride = s.c_out * s.c_in;
        for (int64_t co = 0; co < s.c_out; ++co) {
            const float* in = du + co * s.c_in;
            float* f = gw + co * s.c_in * 9;
#pragma omp simd
            for (int64_t ci = 0; ci < s.c_in; ++ci) {
                float e[4][3];  // dU G: G^T on each row
                for (int i = 0; i < 4; ++i)
                    gt4(in[(4 * i) * pos_stride + ci], in[(4 * i + 1) * pos_stride + ci],
                        in[(4 * i + 2) * pos_stride + ci], in[(4 * i + 3) * pos_stride + ci], e[i]);
                for (int j = 0; j < 3; ++j) {  // G^T e on each column
                    float v[3];
                    gt4(e[0][j], e[1][j], e[2][j], e[3][j], v);
                    for (int i = 0; i < 3; ++i) f[ci * 9 + 3 * i + j] = v[i];
                }
            }
        }
    }

    static void input_tile(const Conv2dShape& s, float* xt, int64_t th, int64_t tw, float* outside, float* row,
                           int64_t pos_stride) {
        transform_input_tile(window(xt, s.h, s.w, s.c_in, th, tw, outside), s.c_in, row, pos_stride);
    }

    static void input_tile_adjoint(const Conv2dShape& s, const float* row, int64_t pos_stride, float* xt, int64_t th,
                                   int64_t tw, float* outside) {
        transform_input_tile_adjoint(row, pos_stride, s.c_in, window(xt, s.h, s.w, s.c_in, th, tw, outside));
    }

    // Y = A^T M A for the 16 tiles at m (lanes): position p at m + p * pos_stride, the outputs
    // y00, y01, y10, y11 at yt + 0, 1, 2, 3 times yt_stride.
    static void output_tiles(const float* m, int64_t pos_stride, __mmask16 lanes, float* yt, int64_t yt_stride) {
        __m512 r0[4], r1[4];  // A^T M: A^T on each column
        for (int j = 0; j < 4; ++j) {
            const __m512 m0 = _mm512_maskz_loadu_ps(lanes, m + j * pos_stride),
                         m1 = _mm512_maskz_loadu_ps(lanes, m + (4 + j) * pos_stride),
                         m2 = _mm512_maskz_loadu_ps(lanes, m + (8 + j) * pos_stride),
                         m3 = _mm512_maskz_loadu_ps(lanes, m + (12 + j) * pos_stride);
            r0[j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
            r1[j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
        }
        _mm512_mask_storeu_ps(yt, lanes, _mm512_add_ps(_mm512_add_ps(r0[0], r0[1]), r0[2]));
        _mm512_mask_storeu_ps(yt + yt_stride, lanes, _mm512_sub_ps(_mm512_sub_ps(r0[1], r0[2]), r0[3]));
        _mm512_mask_storeu_ps(yt + 2 * yt_stride, lanes, _mm512_add_ps(_mm512_add_ps(r1[0], r1[1]), r1[2]));
        _mm512_mask_storeu_ps(yt + 3 * yt_stride, lanes, _mm512_sub_ps(_mm512_sub_ps(r1[1], r1[2]), r1[3]));
    }

    static constexpr auto transform_gy_tile = &cpu::transform_gy_tile;
};

}  // namespace

bool conv2d_winograd3x3_fits(const Conv2dShape& s) {
    return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 1 && s.pad_w == 1 &&
           s.dil_h == 1 && s.dil_w == 1 && s.groups == 1 && s.oh == s.h && s.ow == s.w &&
           winograd::shape_fits<Winograd3x3>(s, kMinChannels);
}

void conv2d_forward_winograd3x3_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    winograd::run_with_weights<Winograd3x3>(s, true, static_cast<const float*>(x), static_cast<const float*>(w),
                                            static_cast<float*>(y));
}

void conv2d_backward_input_winograd3x3_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    winograd::run_with_weights<Winograd3x3>(s, false, static_cast<const float*>(gy), static_cast<const float*>(w),
                                            static_cast<float*>(gx));
}

void conv2d_backward_weight_winograd3x3_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    winograd::backward_weight<Winograd3x3>(s, static_cast<const float*>(x), static_cast<const float*>(gy),
                                           static_cast<float*>(gw));
}

}  // namespace mg::kernels::cpu
