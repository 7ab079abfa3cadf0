// The pipeline both Winograd convolutions of conv2d "winograd" share (included only by the
// AVX-512 files conv_winograd_avx512.cpp and conv_winograd3x3_avx512.cpp): turning images
// channels-last, chunks of images per thread, the batched GEMM over the transformed
// positions, and the order of the three faces. A Scheme supplies the transforms:
//
//   positions, phases      the transformed tile's size; K = phases * C_in
//   target_tiles           images per GEMM until its N reaches this many tiles
//   transform_weights      w -> U [positions, C_out, K]          (and its adjoint: dU -> gw)
//   input_tile             one tile's K values of V from a channels-last image (and
//   input_tile_adjoint     its adjoint: accumulating into the image)
//   output_tiles           Y = A^T M A for 16 tiles of one output channel (masked lanes)
//   transform_gy_tile      one 2x2 tile of gy -> its positions of dM (the output transform's adjoint)
//
// and with one GEMM per transformed position p:
//   forward          M_p  = U_p · V_p                   y  = output transform of M
//   backward_input   dV_p = U_p^T · dM_p                gx = input transform's adjoint of dV
//   backward_weight  dU_p = sum over chunks dM_p · V_p^T, gw = weight transform's adjoint of dU
//
// Threads: one block of images per thread, the GEMM single-threaded inside it. Forward and
// backward_input: every output depends on its own image only, and the blocked GEMM's columns
// do not depend on N, so the bits do not depend on the thread count; backward_weight adds
// per-thread partial dU in thread order before the final transform.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit_driver.h"

namespace mg::kernels::cpu::winograd {

// ---- channels-last ---------------------------------------------------------------------------

// out[j * ld_out + i] = in[i * ld_in + j] for a 16x16 float block, in registers: 64 shuffles
// in 4 rounds (pairs of rows, then 2-, 4- and 8-float groups) instead of 256 strided moves.
// The masked forms with a full mask: the plain ones start from _mm512_undefined_ps, which
// g++ 12 reports as used uninitialized.
inline void transpose16x16(const float* in, int64_t ld_in, float* out, int64_t ld_out) {
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
inline void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
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
inline void to_channels_last(const float* x, int64_t c, int64_t p, float* xt) { transpose(x, c, p, xt); }

inline void from_channels_last(const float* xt, int64_t c, int64_t p, float* x) { transpose(xt, p, c, x); }

// ---- chunks of images ------------------------------------------------------------------------

// A chunk's V^T and M stop growing at this many elements (16 MB in float32).
constexpr int64_t kMaxChunkElements = int64_t(1) << 22;

// Every scheme's output tile is 2x2.
struct Tiling {
    int64_t th, tw, tiles;     // tile rows and columns per image, tiles = th * tw
    int64_t k;                 // phases * C_in: the GEMMs' reduction over channels (and phases)
    int64_t chunk;             // images per GEMM
    int64_t v_chunk, m_chunk;  // elements of a chunk's V^T [P, chunk*T, K] and M [P, C_out, chunk*T]
};

template <class Scheme>
Tiling tiling(const Conv2dShape& s) {
    Tiling t;
    t.th = (s.oh + 1) / 2;  // odd: the last tile row half outside
    t.tw = (s.ow + 1) / 2;
    t.tiles = t.th * t.tw;
    t.k = Scheme::phases * s.c_in;
    const int64_t per_image = Scheme::positions * (t.k + s.c_out) * t.tiles;
    t.chunk = std::clamp<int64_t>((Scheme::target_tiles + t.tiles - 1) / t.tiles, 1,
                                  std::max<int64_t>(1, kMaxChunkElements / per_image));
    t.chunk = std::min(t.chunk, std::max<int64_t>(1, s.n));
    t.v_chunk = Scheme::positions * t.k * t.chunk * t.tiles;
    t.m_chunk = Scheme::positions * s.c_out * t.chunk * t.tiles;
    return t;
}

// What both schemes ask of a shape besides its filter: at least 2 tiles per image keeps the
// GEMM's N above 1 (its matrix-vector path sums in another order); both channel counts at
// least min_channels (below it the transforms, not the GEMMs, dominate); at least as many
// images as threads keeps the GEMM single-threaded inside each block; the products keep every
// index far from int64 overflow.
template <class Scheme>
bool shape_fits(const Conv2dShape& s, int64_t min_channels) {
    const int64_t th = (s.oh + 1) / 2, tw = (s.ow + 1) / 2;
    if (th * tw < 2 || s.c_in < min_channels || s.c_out < min_channels || s.n < max_threads()) return false;
    const int64_t limit = int64_t(1) << 30;
    return s.c_in * s.h * s.w < limit && s.c_out * s.oh * s.ow < limit &&
           Scheme::positions * (Scheme::phases * s.c_in + s.c_out) * th * tw < limit &&
           Scheme::positions * s.c_out * Scheme::phases * s.c_in < limit;
}

// The `positions` products in one batched call of the active GEMM (single-threaded inside a block).
inline void gemm_positions(int64_t positions, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                           const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                           double beta) {
    GemmArgs g;
    g.trans_a = trans_a;
    g.trans_b = trans_b;
    g.m = m, g.n = n, g.k = k, g.lda = lda, g.ldb = ldb, g.ldc = ldc;
    g.batch = positions;
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

// ---- the output ------------------------------------------------------------------------------

// y's plane `co` for images [n0, n0 + images) from its tiles' four outputs, computed for the
// whole chunk at once (yt [4, chunk*T]: y00, y01, y10, y11 of each tile; a row of a 7x7 output
// has only 4 tiles, too few for the vector width). An odd OW (OH) drops the last tile's second
// column (row): padding.
inline void scatter_output_tiles(const Conv2dShape& s, const Tiling& t, const float* yt, int64_t columns,
                                 int64_t n0, int64_t images, int64_t co, float* y) {
    const float *y00 = yt, *y01 = y00 + columns, *y10 = y01 + columns, *y11 = y10 + columns;
    for (int64_t i = 0; i < images; ++i) {
        float* plane = y + ((n0 + i) * s.c_out + co) * s.oh * s.ow;
        for (int64_t th = 0; th < t.th; ++th) {
            const int64_t c0 = i * t.tiles + th * t.tw, r = 2 * th;
            float* row0 = plane + r * s.ow;
            for (int64_t tw = 0; tw < s.ow / 2; ++tw) row0[2 * tw] = y00[c0 + tw], row0[2 * tw + 1] = y01[c0 + tw];
            if (s.ow % 2 != 0) row0[s.ow - 1] = y00[c0 + t.tw - 1];
            if (r + 1 >= s.oh) continue;
            float* row1 = row0 + s.ow;
            for (int64_t tw = 0; tw < s.ow / 2; ++tw) row1[2 * tw] = y10[c0 + tw], row1[2 * tw + 1] = y11[c0 + tw];
            if (s.ow % 2 != 0) row1[s.ow - 1] = y10[c0 + t.tw - 1];
        }
    }
}

// The lanes of 16 columns from c on, of `columns`.
inline __mmask16 tail_lanes(int64_t c, int64_t columns) {
    return columns - c >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (columns - c)) - 1);
}

// V^T [P, chunk*T, K] for images [n0, n0 + images) of x, each turned channels-last in xt
// (H*W*C_in + C_in elements of scratch, the last C_in zeros: what the padding reads).
template <class Scheme>
void transform_input(const Conv2dShape& s, const Tiling& t, const float* x, int64_t n0, int64_t images,
                     int64_t columns, float* vt, float* xt) {
    const int64_t pos_stride = columns * t.k;
    float* zeros = xt + s.h * s.w * s.c_in;
    std::fill(zeros, zeros + s.c_in, 0.0f);
    for (int64_t i = 0; i < images; ++i) {
        to_channels_last(x + (n0 + i) * s.c_in * s.h * s.w, s.c_in, s.h * s.w, xt);
        for (int64_t th = 0; th < t.th; ++th)
            for (int64_t tw = 0; tw < t.tw; ++tw)
                Scheme::input_tile(s, xt, th, tw, zeros, vt + (i * t.tiles + th * t.tw + tw) * t.k, pos_stride);
    }
}

// gx for images [n0, n0 + images) from dV^T [P, chunk*T, K]: accumulated channels-last in xt
// (the last C_in elements the padding's sink), then transposed.
template <class Scheme>
void transform_input_adjoint(const Conv2dShape& s, const Tiling& t, const float* dvt, int64_t n0, int64_t images,
                             int64_t columns, float* gx, float* xt) {
    const int64_t pos_stride = columns * t.k, pixels = s.h * s.w;
    float* sink = xt + pixels * s.c_in;
    for (int64_t i = 0; i < images; ++i) {
        std::fill(xt, xt + pixels * s.c_in, 0.0f);
        for (int64_t th = 0; th < t.th; ++th)
            for (int64_t tw = 0; tw < t.tw; ++tw)
                Scheme::input_tile_adjoint(s, dvt + (i * t.tiles + th * t.tw + tw) * t.k, pos_stride, xt, th, tw,
                                           sink);
        from_channels_last(xt, s.c_in, pixels, gx + (n0 + i) * s.c_in * pixels);
    }
}

// dM^T [P, chunk*T, C_out] for images [n0, n0 + images) of gy, tile by tile; gyt: OH*OW*C_out +
// C_out of scratch, the last C_out zeros: the gradient of the padded outputs (odd OH or OW).
template <class Scheme>
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
                Scheme::transform_gy_tile(pixel(r, c), pixel(r, c + 1), pixel(r + 1, c), pixel(r + 1, c + 1),
                                          s.c_out, dmt + (i * t.tiles + th * t.tw + tw) * s.c_out, pos_stride);
            }
    }
}

// y for images [n0, n0 + images) from M [P, C_out, chunk*T]: per output channel, the chunk's
// tiles 16 at a time into yt, then scattered.
template <class Scheme>
void transform_output(const Conv2dShape& s, const Tiling& t, const float* m, int64_t n0, int64_t images,
                      int64_t columns, float* y) {
    const int64_t pos_stride = s.c_out * columns;
    std::vector<float> yt(size_t(4 * columns));
    for (int64_t co = 0; co < s.c_out; ++co) {
        const float* mc = m + co * columns;
        for (int64_t c = 0; c < columns; c += 16)
            Scheme::output_tiles(mc + c, pos_stride, tail_lanes(c, columns), yt.data() + c, columns);
        scatter_output_tiles(s, t, yt.data(), columns, n0, images, co, y);
    }
}

// ---- the three faces -------------------------------------------------------------------------

// forward (y from x) and backward_input (gx from gy) share the pipeline: U once, then per chunk
// a transform in, the GEMMs, a transform out.
template <class Scheme>
void run_with_weights(const Conv2dShape& s, bool forward, const float* in, const float* w, float* out) {
    constexpr int64_t P = Scheme::positions;
    const Tiling t = tiling<Scheme>(s);
    float* u = thread_scratch<float>(Scratch::conv_staging, P * s.c_out * t.k);  // shared, read-only
    Scheme::transform_weights(s, w, u);
    for_each_chunk(s, t, [&](int, int64_t n0, int64_t images, int64_t columns, const ChunkScratch& b) {
        if (forward) {
            transform_input<Scheme>(s, t, in, n0, images, columns, b.v, b.image);
            gemm_positions(P, false, true, s.c_out, columns, t.k, u, t.k, b.v, t.k, b.m, columns, 0.0);
            transform_output<Scheme>(s, t, b.m, n0, images, columns, out);
        } else {
            transform_gy<Scheme>(s, t, in, n0, images, columns, b.m, b.gy_image);
            gemm_positions(P, false, false, columns, t.k, s.c_out, b.m, s.c_out, u, t.k, b.v, t.k, 0.0);
            transform_input_adjoint<Scheme>(s, t, b.v, n0, images, columns, out, b.image);
        }
    });
}

template <class Scheme>
void backward_weight(const Conv2dShape& s, const float* x, const float* gy, float* gw) {
    constexpr int64_t P = Scheme::positions;
    const Tiling t = tiling<Scheme>(s);
    const int64_t du_size = P * s.c_out * t.k;
    // Each thread's dU (every block has images: N >= threads); the first chunk overwrites it.
    std::vector<float*> partials(size_t(std::max(1, max_threads())), nullptr);
    const int blocks =
        for_each_chunk(s, t, [&](int thread, int64_t n0, int64_t images, int64_t columns, const ChunkScratch& b) {
            float*& du = partials[size_t(thread)];
            const bool first = du == nullptr;
            if (first) du = thread_scratch<float>(Scratch::conv_staging, du_size);
            transform_input<Scheme>(s, t, x, n0, images, columns, b.v, b.image);
            transform_gy<Scheme>(s, t, gy, n0, images, columns, b.m, b.gy_image);
            gemm_positions(P, true, false, s.c_out, t.k, columns, b.m, s.c_out, b.v, t.k, du, t.k, first ? 0.0 : 1.0);
        });
    float* du = partials[0];
    for (int b = 1; b < blocks; ++b) {  // in thread order: the same bits for a given thread count
        const float* p = partials[size_t(b)];
        if (p)
            for (int64_t i = 0; i < du_size; ++i) du[i] += p[i];
    }
    Scheme::transform_weights_adjoint(s, du, gw);
}

}  // namespace mg::kernels::cpu::winograd
