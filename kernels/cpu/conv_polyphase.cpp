// conv2d "polyphase" (float32, AVX-512): strided convolutions as stride-1 ones, by splitting
// an array into its s_h*s_w phases (sub-pixel decomposition), so that "implicit"'s GEMM
// lowers them by masked loads instead of gathers (conv_implicit.h; gathers are slow on AMD).
// Shapes: x [N, C_in, H, W], w [C_out, C_in, kh, kw], y [N, C_out, OH, OW], stride s, pad p.
//
//   forward          x's phase (a, b) [PH, PW] holds padded x at (s_h*u + a, s_w*v + b); tap
//                    (i, j) reads phase (i % s_h, j % s_w) at (oh + i / s_h, ow + j / s_w): a
//                    stride-1 tap. One pass splits x into xs [N, C_in, s_h*s_w*PH, PW]
//                    (PH = OH + (kh-1)/s_h, PW likewise), then y_n = W · B(xs_n).
//   backward_weight  gw = sum over images of gy_n · B(xs_n)^T over the same split.
//   backward_input   gx's phase (a, b), the inputs with (ih + p_h) % s_h = a and
//                    (iw + p_w) % s_w = b, is a stride-1 conv of gy with the taps
//                    (a + s_h*m, b + s_w*n): M = C_in, K = C_out * taps / (s_h*s_w), straight
//                    from gy; each phase's GEMM writes it once, one interleave pass puts it in gx.
//                    No col, no col2im, no zeroing.
//
// Row pitch: a phase plane is PW = OW + (kw-1)/s_w wide, the output rows OW. Rather than pad
// the output to PW columns (a GEMM column wasted per row: 1/7 of D's 7x7 conv) or store
// the planes OW wide (tap j / s_w = 1 would need the column cut off), each 16-column vector
// loads the few runs of consecutive elements it covers (ImplicitRun: 2-4 merging masked loads
// per vector at OW = 7..14), so the GEMM's N is exactly the outputs.
//
// Threads: one block of images per thread as in "implicit"; every output of forward and
// backward_input depends on its own image only, backward_weight adds per-thread partials in
// thread order (bitwise reproducible for a given thread count, as "implicit" and "im2col").
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit_driver.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/isa_kernels.h"

namespace mg::kernels::cpu {
namespace {

// A vector cut into more runs than this (rows under 3 wide) is gathered instead.
constexpr int kMaxRuns = 6;

// The shapes polyphase computes; the others go to "implicit". Strided, one group, no
// dilation, at least as many images as threads (one block of images per thread), each
// image's split, gy and gx below 2^30 elements (int32 column offsets).
bool polyphase_fits(const Conv2dShape& s) {
    const bool strided = s.stride_h > 1 || s.stride_w > 1;
    const int64_t split = s.c_in * s.stride_h * s.stride_w * (s.oh + s.kh) * (s.ow + s.kw);
    return strided && s.groups == 1 && s.dil_h == 1 && s.dil_w == 1 && s.n >= max_threads() && s.c_in > 0 &&
           s.c_out > 0 && s.oh > 0 && s.ow > 0 && split < (int64_t(1) << 30) &&
           s.c_out * s.oh * s.ow < (int64_t(1) << 30) && s.c_in * s.h * s.w < (int64_t(1) << 30);
}

// forward and backward_weight split x only where the output rows are at least this wide.
// Narrower rows cut each 16-column vector into more runs (5 at OW = 4), and the masked loads
// plus the split pass cost more than the gathers they replace: 11.78 vs 11.22 ms forward on
// the 32x32 D's 128->256 conv at OW = 4; at OW = 7 and 14 the split wins (module comment).
constexpr int64_t kMinSplitRow = 7;

// floor(a / b) for b > 0 and any a.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// x split into its phases: xs [N, C_in, phases * PH, PW], phase (a, b) = a * s_w + b.
struct PhaseSplit {
    int64_t ph, pw, image;
    float* data;  // the calling thread's conv_columns scratch: no page faults on each call
};

PhaseSplit split_phases(const Conv2dShape& s, const float* x) {
    PhaseSplit xs;
    xs.ph = s.oh + (s.kh - 1) / s.stride_h;
    xs.pw = s.ow + (s.kw - 1) / s.stride_w;
    const int64_t phases = s.stride_h * s.stride_w, plane = xs.ph * xs.pw;
    xs.image = s.c_in * phases * plane;
    xs.data = thread_scratch<float>(Scratch::conv_columns, s.n * xs.image);  // every element written below
    float* out = xs.data;
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        for (int64_t n = first; n < end; ++n)
            for (int64_t ci = 0; ci < s.c_in; ++ci) {
                const float* src = x + (n * s.c_in + ci) * s.h * s.w;
                for (int64_t a = 0; a < s.stride_h; ++a)
                    for (int64_t b = 0; b < s.stride_w; ++b) {
                        float* dst = out + n * xs.image + (ci * phases + a * s.stride_w + b) * plane;
                        // Columns v in [v_lo, v_hi) read x's row at s_w*v + b - p_w; the rest is padding.
                        const int64_t v_lo = std::min(xs.pw, -floor_div(b - s.pad_w, s.stride_w));
                        const int64_t v_hi =
                            std::clamp<int64_t>(floor_div(s.w - 1 + s.pad_w - b, s.stride_w) + 1, v_lo, xs.pw);
                        for (int64_t u = 0; u < xs.ph; ++u, dst += xs.pw) {
                            const int64_t ih = s.stride_h * u + a - s.pad_h;
                            if (ih < 0 || ih >= s.h) {
                                std::fill(dst, dst + xs.pw, 0.0f);
                                continue;
                            }
                            const float* row = src + ih * s.w + b - s.pad_w;
                            std::fill(dst, dst + v_lo, 0.0f);
                            if (s.stride_w == 2)  // a constant stride the compiler vectorises
                                for (int64_t v = v_lo; v < v_hi; ++v) dst[v] = row[2 * v];
                            else
                                for (int64_t v = v_lo; v < v_hi; ++v) dst[v] = row[s.stride_w * v];
                            std::fill(dst + v_hi, dst + xs.pw, 0.0f);
                        }
                    }
            }
    });
    return xs;
}

// The conv's taps over the split, in w's order (i * kw + j): phase row block plus the
// in-phase offset; every read lies inside the plane, so no tap is masked.
TapTables split_taps(const Conv2dShape& s, const PhaseSplit& xs, int64_t chunk) {
    std::vector<std::pair<int64_t, int64_t>> taps;
    for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t phase = (i % s.stride_h) * s.stride_w + j % s.stride_w;
            taps.emplace_back(phase * xs.ph + i / s.stride_h, j / s.stride_w);
        }
    const int64_t rows = s.stride_h * s.stride_w * xs.ph;
    TapTables tables(s.c_in, {rows, xs.pw, s.oh, s.ow, 1, 1, chunk, xs.image}, taps);
    tables.use_runs(kMaxRuns);
    return tables;
}

// x split and its taps' tables, `chunk` images per GEMM: what forward and backward_weight lower.
struct SplitLowering {
    PhaseSplit xs;
    int64_t chunk;
    TapTables taps;
};

SplitLowering lower_split(const Conv2dShape& s, const void* x) {
    PhaseSplit xs = split_phases(s, static_cast<const float*>(x));
    const int64_t chunk = images_per_gemm(s.n, s.oh * s.ow, xs.image);
    return {xs, chunk, split_taps(s, xs, chunk)};
}

// One phase of gx along one axis: the inputs i with (i + pad) % stride == a are
// i = stride * (lo + q) + a - pad for q in [0, count); tap k = a + stride * m, m in [0, taps).
struct PhaseAxis {
    int64_t lo, count, taps;
};

PhaseAxis phase_axis(int64_t size, int64_t k, int64_t stride, int64_t pad, int64_t a) {
    PhaseAxis p;
    p.lo = -floor_div(a - pad, stride);  // ceil((pad - a) / stride)
    p.count = std::max<int64_t>(0, floor_div(size - 1 + pad - a, stride) - p.lo + 1);
    p.taps = a < k ? (k - a + stride - 1) / stride : 0;
    return p;
}

// One phase (a, b) of gx as a stride-1 implicit GEMM over gy: its taps (a + s_h*m, b + s_w*n)
// read gy at (rows.lo + q - m, cols.lo + r - n); wt [C_in, C_out * taps] holds their weights.
struct GxPhase {
    int64_t a, b;
    PhaseAxis rows, cols;
    std::vector<float> wt;
    std::unique_ptr<TapTables> tables;  // null when no tap reaches the phase (k < stride)
};

GxPhase gx_phase(const Conv2dShape& s, int64_t a, int64_t b, int64_t chunk, const float* w) {
    GxPhase g{a, b, phase_axis(s.h, s.kh, s.stride_h, s.pad_h, a), phase_axis(s.w, s.kw, s.stride_w, s.pad_w, b),
              {}, nullptr};
    const int64_t taps = g.rows.taps * g.cols.taps;
    if (taps == 0) return g;
    std::vector<std::pair<int64_t, int64_t>> offsets;
    g.wt.resize(size_t(s.c_in * s.c_out * taps));
    for (int64_t m = 0; m < g.rows.taps; ++m)
        for (int64_t n = 0; n < g.cols.taps; ++n) {
            const int64_t t = m * g.cols.taps + n, tap = (a + s.stride_h * m) * s.kw + b + s.stride_w * n;
            offsets.emplace_back(g.rows.lo - m, g.cols.lo - n);
            for (int64_t ci = 0; ci < s.c_in; ++ci)
                for (int64_t co = 0; co < s.c_out; ++co)
                    g.wt[size_t((ci * s.c_out + co) * taps + t)] = w[(co * s.c_in + ci) * s.kh * s.kw + tap];
        }
    g.tables = std::make_unique<TapTables>(
        s.c_out, Geometry{s.oh, s.ow, g.rows.count, g.cols.count, 1, 1, chunk, s.c_out * s.oh * s.ow}, offsets);
    g.tables->use_runs(kMaxRuns);
    return g;
}

// gx's phase for images [n0, n0 + images) from its GEMM output ph [C_in, images * positions]
// (null: no tap reaches it, so 0): the interleave, each element of gx written once.
void write_phase(const Conv2dShape& s, const GxPhase& g, int64_t n0, int64_t images, const float* ph, float* gx) {
    const int64_t positions = g.rows.count * g.cols.count;
    for (int64_t ci = 0; ci < s.c_in; ++ci)
        for (int64_t i = 0; i < images; ++i) {
            const float* from = ph ? ph + (ci * images + i) * positions : nullptr;
            float* plane = gx + ((n0 + i) * s.c_in + ci) * s.h * s.w + s.stride_w * g.cols.lo + g.b - s.pad_w;
            for (int64_t q = 0; q < g.rows.count; ++q) {
                float* row = plane + (s.stride_h * (g.rows.lo + q) + g.a - s.pad_h) * s.w;
                for (int64_t r = 0; r < g.cols.count; ++r)
                    row[r * s.stride_w] = from ? from[q * g.cols.count + r] : 0.0f;
            }
        }
}

}  // namespace

void conv2d_forward_polyphase_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (!polyphase_fits(s) || s.ow < kMinSplitRow) return conv2d_forward_implicit_f32(s, x, w, y);
    const SplitLowering l = lower_split(s, x);
    run_images(s.n, l.chunk, static_cast<const float*>(w), s.c_out, l.taps, l.xs.data, l.xs.image,
               static_cast<float*>(y));
}

void conv2d_backward_weight_polyphase_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    check_conv2d_shape("conv2d_backward_weight", s);
    // As in "implicit": a gradient with few columns (C_in*kh*kw = 16 on D's first conv) goes to
    // im2col, which computes it transposed so that its GEMM tiles fill up.
    const int64_t columns = s.c_in * s.kh * s.kw;
    if (!polyphase_fits(s) || s.ow < kMinSplitRow || (columns <= 16 && s.c_out > columns))
        return conv2d_backward_weight_implicit_f32(s, x, gy, gw);
    const SplitLowering l = lower_split(s, x);
    run_weight(s.n, l.chunk, static_cast<const float*>(gy), s.c_out, l.taps, l.xs.data, l.xs.image,
               static_cast<float*>(gw));
}

void conv2d_backward_input_polyphase_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    // M = C_in: with few input channels (G's last layer: 1) im2col's M = C_in*kh*kw wins.
    if (!polyphase_fits(s) || !rows_fill_tiles(s.c_in)) return conv2d_backward_input_implicit_f32(s, gy, w, gx);
    const int64_t gy_image = s.c_out * s.oh * s.ow;
    int64_t most = 1;  // positions of the largest phase
    for (int64_t a = 0; a < s.stride_h; ++a)
        for (int64_t b = 0; b < s.stride_w; ++b)
            most = std::max(most, phase_axis(s.h, s.kh, s.stride_h, s.pad_h, a).count *
                                      phase_axis(s.w, s.kw, s.stride_w, s.pad_w, b).count);
    const int64_t chunk = images_per_gemm(s.n, most, gy_image);
    std::vector<GxPhase> phases;
    for (int64_t a = 0; a < s.stride_h; ++a)
        for (int64_t b = 0; b < s.stride_w; ++b) {
            GxPhase g = gx_phase(s, a, b, chunk, static_cast<const float*>(w));
            if (g.rows.count > 0 && g.cols.count > 0) phases.push_back(std::move(g));
        }
    // Per block of images, every phase while the block's gy is in cache.
    const ImplicitGemmKernels& gemm = avx512_kernels().implicit_gemm_f32;
    const float* gyf = static_cast<const float*>(gy);
    for_each_image_block(s.n, [&](int, int, int64_t first, int64_t end) {
        float* staging = thread_scratch<float>(Scratch::conv_staging, s.c_in * chunk * most);
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t images = std::min(chunk, end - n0);
            for (const GxPhase& g : phases) {
                if (g.tables) {
                    const ImplicitLowering lowering = g.tables->lowering(images);
                    gemm.forward(g.wt.data(), lowering.k, s.c_in, lowering, gyf + n0 * gy_image, staging);
                }
                write_phase(s, g, n0, images, g.tables ? staging : nullptr, static_cast<float*>(gx));
            }
        }
    });
}

}  // namespace mg::kernels::cpu

namespace mg::kernels {

// The default for strided convs (priority 30 over implicit's 20), routed inside each face to
// where it measured faster (docs/results/2026-12-07-polyphase-conv.md; 1 thread, Zen 4, thread
// CPU time, median of 21, polyphase vs the default before it):
//   dcgan D 64->128 at 14x14 (N 64)     forward 9.64 vs 10.37 ms, backward_input 9.62 vs 10.65,
//                                       backward_weight 10.67 vs 11.05
//   D's first conv 1->64 at 28x28       forward 0.407 vs 0.428 ms (the backward faces fall back)
//   D's first conv 3->64 at 32x32       forward 1.45 vs 1.63 ms, backward_weight 1.96 vs 2.12
//   32x32 D 128->256 at 8x8 (OW 4)      backward_input 12.78 vs 15.06 ms; forward falls back
//                                       (kMinSplitRow)
void register_cpu_conv_polyphase() {
    if (!cpu::has_avx512()) return;
    struct Face {
        OpTable<Conv2dFn>& table;
        Conv2dFn* fn;
        const char* doc;
    };
    const Face faces[] = {
        {conv2d_forward_table(), &cpu::conv2d_forward_polyphase_f32,
         "strided, OW >= 7: x split into stride^2 phase planes, implicit's GEMM lowers them by masked loads "
         "(no gathers); else implicit"},
        {conv2d_backward_input_table(), &cpu::conv2d_backward_input_polyphase_f32,
         "strided, C_in filling the GEMM tiles: one stride-1 GEMM per phase of gx straight from gy, then an "
         "interleave (no col, col2im or zeroing); else implicit"},
        {conv2d_backward_weight_table(), &cpu::conv2d_backward_weight_polyphase_f32,
         "strided, OW >= 7: gy x B(phases of x)^T, masked loads; else implicit"},
    };
    for (const Face& f : faces) f.table.add("polyphase", Device::CPU, DType::Float32, f.fn, 30, f.doc);
}

}  // namespace mg::kernels
