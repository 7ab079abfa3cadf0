// conv2d and masked_conv2d "implicit" (float32, AVX-512): the im2col GEMM without the col
// matrix. The GEMM's B-packing step lowers the input straight into its panels
// (conv_implicit.h, conv_implicit_simd.h), so per image (or block of images)
//   forward          y_n  [C_out, P]  = W  [C_out, C_in*T] · B(x_n)    taps (kh, kw)
//   backward_input   gx_n [C_in, H*W] = Wt [C_in, C_out*T] · B(gy_n)   the reflected taps
// where T is the number of taps (kh*kw, or the masked conv's kept taps) and Wt[ci][co*T + t] =
// W[co][ci][t]. backward_input is the stride-1 adjoint written as a forward convolution of gy:
// gx[ci, ih, iw] = sum over co, t of w[co, ci, t] * gy[co, ih - off_h(t), iw - off_w(t)], which
// writes gx once instead of accumulating a [C_in*T, H*W] col into it.
//
// What it saves against "im2col" (docs/kernels.md has the numbers): the col write and its
// re-read by the packing (forward, backward_weight), the col2im pass and the zeroing of gx
// (backward_input).
// forward serves every one-group conv but the 1x1 unpadded stride-1 one (which im2col does not
// lower either); stride 1 with output rows as wide as input rows lowers by masked loads, any
// other by masked gathers, several small images per GEMM as im2col does. backward_input serves
// the stride-1 same-width convs where C_in fills the micro-kernel's rows (rows_fill_tiles).
// backward_weight (gw = sum over images of gy_n · B(x_n)^T) serves what forward serves, its
// B^T panels transposed in registers straight from x. All three need at least as many images
// as threads (each image block's GEMM runs on one thread); other shapes, and smaller batches,
// go to "im2col" unchanged.
//
// Threads: one contiguous block of images per OpenMP thread, as in "im2col"; every image's
// output depends on that image only, so the result does not depend on the thread count.
#include <omp.h>

#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit.h"
#include "kernels/cpu/conv_implicit_driver.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/masked_conv.h"

namespace mg::kernels::cpu {

int max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// out_n [m, P] = a [m, K] · B(src_n) for every image, `chunk` images per GEMM (the tables are
// built for chunk images), one block of images per thread. A GEMM over several images writes a
// [m, chunk*P] staging block, copied out image by image.
void run_images(int64_t images, int64_t chunk, const float* a, int64_t m, const TapTables& taps, const float* src,
                int64_t src_image, float* out) {
    const ImplicitLowering one = taps.lowering(1);
    const int64_t p = one.n, k = one.k;
    const ImplicitGemmKernels& gemm = avx512_kernels().implicit_gemm_f32;
    for_each_image_block(images, [&](int, int, int64_t first, int64_t end) {
        float* staging = chunk > 1 ? thread_scratch<float>(Scratch::conv_staging, m * chunk * p) : nullptr;
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t b = std::min(chunk, end - n0);
            const ImplicitLowering lowering = taps.lowering(b);
            if (b == 1) {
                gemm.forward(a, k, m, lowering, src + n0 * src_image, out + n0 * m * p);
                continue;
            }
            gemm.forward(a, k, m, lowering, src + n0 * src_image, staging);
            for (int64_t i = 0; i < b; ++i)
                for (int64_t row = 0; row < m; ++row) {
                    const float* from = staging + row * b * p + i * p;
                    std::copy(from, from + p, out + ((n0 + i) * m + row) * p);
                }
        }
    });
}

// gw [m, K] = sum over images of gy_n [m, P] · B(src_n)^T, `chunk` images per GEMM (the
// tables are built for chunk images; their gy goes side by side into a [m, chunk*P] block).
// Each thread accumulates its block of images into its own partial (thread 0 into gw), and the
// partials are added in thread order, as "im2col" does: bitwise reproducible for a given
// thread count.
void run_weight(int64_t images, int64_t chunk, const float* gy, int64_t m, const TapTables& taps, const float* src,
                int64_t src_image, float* gw) {
    const ImplicitLowering one = taps.lowering(1);
    const int64_t p = one.n, size = m * one.k;
    const ImplicitGemmKernels& gemm = avx512_kernels().implicit_gemm_f32;
    const int threads = max_threads();
    std::vector<float> partials(images >= threads ? size_t((threads - 1) * size) : 0);
    const int blocks = for_each_image_block(images, [&](int t, int, int64_t first, int64_t end) {
        float* acc = t == 0 ? gw : partials.data() + (t - 1) * size;
        float* gy_block = chunk > 1 ? thread_scratch<float>(Scratch::conv_staging, m * chunk * p) : nullptr;
        for (int64_t n0 = first; n0 < end; n0 += chunk) {
            const int64_t b = std::min(chunk, end - n0);
            const float* a = gy + n0 * m * p;
            if (b > 1) {
                for (int64_t row = 0; row < m; ++row)
                    for (int64_t i = 0; i < b; ++i) {
                        const float* from = gy + ((n0 + i) * m + row) * p;
                        std::copy(from, from + p, gy_block + row * b * p + i * p);
                    }
                a = gy_block;
            }
            gemm.weight(a, m, taps.lowering(b), src + n0 * src_image, acc, n0 == first ? 0.0f : 1.0f);
        }
    });
    add_partials_in_order(gw, partials.data(), size, blocks);
}

// backward_input's GEMM has M = C_in rows, computed in whole micro-kernel tiles. "im2col"
// has M = C_in*T instead and pays a col2im pass; "implicit" wins only when C_in fills its
// tiles: 64 rows in 5 tiles of 14 (91%) gain ~5% on the 7x7 masked conv, 32 rows in 3 tiles
// (76%) lose ~4% on the classifier's second conv, and 1 row (the first conv) loses 9x.
bool rows_fill_tiles(int64_t rows) {
    const int64_t tile = avx512_kernels().implicit_gemm_f32.row_tile;
    return rows * 10 >= (rows + tile - 1) / tile * tile * 9;
}

// Images per GEMM for a gathered lowering: small outputs (7x7 gives P = 49, a poor GEMM N)
// are lowered side by side up to 512 columns, as im2col does, within the images a thread has.
// Column offsets are int32: the chunk's source must stay below 2^31 elements.
int64_t images_per_gemm(int64_t images, int64_t positions, int64_t image_size) {
    int64_t chunk = std::min<int64_t>((512 + positions - 1) / positions, std::max<int64_t>(1, images / max_threads()));
    chunk = std::min<int64_t>(chunk, std::max<int64_t>(1, (int64_t(1) << 30) / std::max<int64_t>(1, image_size)));
    return std::max<int64_t>(1, chunk);
}

namespace {

// The shapes "implicit" serves; everything else goes to "im2col". A 1x1 conv with stride 1
// and no padding is left to im2col, which needs no lowering there (its GEMM reads x as B):
// the masked lowering costs more than that plain packing (8.0 vs 7.5 ms forward, 11.1 vs
// 9.7 ms backward_input on PixelCNN's 64->256 output conv at 1 thread).
bool implicit_fits(const Conv2dShape& s) {
    const bool direct = s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
    return s.groups == 1 && !direct && s.n >= max_threads() && s.c_in > 0 && s.c_out > 0 && s.oh > 0 && s.ow > 0;
}
bool same_width(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w; }
bool implicit_fits(const MaskedConv2dShape& s) {
    return s.n >= max_threads() && s.c_in > 0 && s.c_out > 0 && s.h > 0 && s.w > 0;
}

// Wt [C_in, C_out*T] from w [C_out, C_in, taps_stored] (the first T taps of each (co, ci)).
std::vector<float> transpose_taps(const float* w, int64_t c_out, int64_t c_in, int64_t taps, int64_t taps_stored) {
    std::vector<float> wt(size_t(c_in * c_out * taps));
    for (int64_t co = 0; co < c_out; ++co)
        for (int64_t ci = 0; ci < c_in; ++ci)
            for (int64_t t = 0; t < taps; ++t)
                wt[size_t((ci * c_out + co) * taps + t)] = w[(co * c_in + ci) * taps_stored + t];
    return wt;
}

// forward and backward_weight lower x alike: the conv's taps over x, several small images per
// GEMM when strided (the column offsets are int32, so one chunk's x stays below 2^30 elements).
bool lowers_x(const Conv2dShape& s) {
    return implicit_fits(s) && (same_width(s) || s.c_in * s.h * s.w < (int64_t(1) << 30));
}
struct XLowering {
    int64_t chunk, image;
    TapTables taps;
};
XLowering lower_x(const Conv2dShape& s) {
    std::vector<std::pair<int64_t, int64_t>> off;
    for (int64_t kh = 0; kh < s.kh; ++kh)
        for (int64_t kw = 0; kw < s.kw; ++kw) off.emplace_back(kh * s.dil_h - s.pad_h, kw * s.dil_w - s.pad_w);
    const int64_t image = s.c_in * s.h * s.w, chunk = same_width(s) ? 1 : images_per_gemm(s.n, s.oh * s.ow, image);
    return {chunk, image, TapTables(s.c_in, {s.h, s.w, s.oh, s.ow, s.stride_h, s.stride_w, chunk, image}, off)};
}

// The masked conv's kept taps as offsets from the centre: (kh - c, kw - c), or reflected
// (sign -1) for backward_input; and their tables over x (forward and backward_weight).
std::vector<std::pair<int64_t, int64_t>> kept_taps(const MaskedConv2dShape& s, int64_t sign) {
    const int64_t c = s.k / 2;
    std::vector<std::pair<int64_t, int64_t>> off;
    for (int64_t t = 0; t < masked_conv_taps(s.k, s.type); ++t) {
        int64_t kh, kw;
        masked_conv_tap(s.k, t, kh, kw);
        off.emplace_back(sign * (kh - c), sign * (kw - c));
    }
    return off;
}
TapTables masked_x_taps(const MaskedConv2dShape& s) {
    return TapTables(s.c_in, {s.h, s.w, s.h, s.w, 1, 1, 1, s.c_in * s.h * s.w}, kept_taps(s, 1));
}

}  // namespace

void conv2d_forward_implicit_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (!lowers_x(s)) return conv2d_forward_im2col<float>(s, x, w, y);
    const XLowering lx = lower_x(s);
    run_images(s.n, lx.chunk, static_cast<const float*>(w), s.c_out, lx.taps, static_cast<const float*>(x), lx.image,
               static_cast<float*>(y));
}

void conv2d_backward_input_implicit_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    if (!implicit_fits(s) || !same_width(s) || !rows_fill_tiles(s.c_in))
        return conv2d_backward_input_im2col<float>(s, gy, w, gx);
    std::vector<std::pair<int64_t, int64_t>> off;  // the reflected taps
    for (int64_t kh = 0; kh < s.kh; ++kh)
        for (int64_t kw = 0; kw < s.kw; ++kw) off.emplace_back(s.pad_h - kh * s.dil_h, s.pad_w - kw * s.dil_w);
    const TapTables taps(s.c_out, {s.oh, s.ow, s.h, s.w, 1, 1, 1, s.c_out * s.oh * s.ow}, off);
    const int64_t kk = s.kh * s.kw;
    const std::vector<float> wt = transpose_taps(static_cast<const float*>(w), s.c_out, s.c_in, kk, kk);
    run_images(s.n, 1, wt.data(), s.c_in, taps, static_cast<const float*>(gy), s.c_out * s.oh * s.ow,
               static_cast<float*>(gx));
}

void conv2d_backward_weight_implicit_f32(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    check_conv2d_shape("conv2d_backward_weight", s);
    // A gradient with few columns (a 3x3 conv on one input channel: 9) goes to im2col, which
    // computes it transposed so that its GEMM tiles fill up.
    const int64_t columns = s.c_in * s.kh * s.kw;
    if (!lowers_x(s) || (columns <= 16 && s.c_out > columns)) return conv2d_backward_weight_im2col<float>(s, x, gy, gw);
    const XLowering lx = lower_x(s);
    run_weight(s.n, lx.chunk, static_cast<const float*>(gy), s.c_out, lx.taps, static_cast<const float*>(x),
               lx.image, static_cast<float*>(gw));
}

void masked_conv2d_forward_implicit_f32(const MaskedConv2dShape& s, const void* x, const void* w, void* y) {
    check_masked_conv2d_shape("masked_conv2d_forward", s);
    if (!implicit_fits(s)) return masked_conv2d_forward_im2col<float>(s, x, w, y);
    const int64_t taps = masked_conv_taps(s.k, s.type), kk = s.k * s.k;
    const TapTables tables = masked_x_taps(s);
    // wp [C_out, C_in*T]: the kept taps of w, which are the first T of each (co, ci).
    const float* wf = static_cast<const float*>(w);
    std::vector<float> wp(size_t(s.c_out * s.c_in * taps));
    for (int64_t oc = 0; oc < s.c_out * s.c_in; ++oc)
        std::copy(wf + oc * kk, wf + oc * kk + taps, wp.begin() + oc * taps);
    run_images(s.n, 1, wp.data(), s.c_out, tables, static_cast<const float*>(x), s.c_in * s.h * s.w,
               static_cast<float*>(y));
}

void masked_conv2d_backward_input_implicit_f32(const MaskedConv2dShape& s, const void* gy, const void* w, void* gx) {
    check_masked_conv2d_shape("masked_conv2d_backward_input", s);
    if (!implicit_fits(s) || !rows_fill_tiles(s.c_in)) return masked_conv2d_backward_input_im2col<float>(s, gy, w, gx);
    const int64_t taps = masked_conv_taps(s.k, s.type);
    const TapTables tables(s.c_out, {s.h, s.w, s.h, s.w, 1, 1, 1, s.c_out * s.h * s.w}, kept_taps(s, -1));
    const std::vector<float> wt = transpose_taps(static_cast<const float*>(w), s.c_out, s.c_in, taps, s.k * s.k);
    run_images(s.n, 1, wt.data(), s.c_in, tables, static_cast<const float*>(gy), s.c_out * s.h * s.w,
               static_cast<float*>(gx));
}

void masked_conv2d_backward_weight_implicit_f32(const MaskedConv2dShape& s, const void* x, const void* gy, void* gw) {
    check_masked_conv2d_shape("masked_conv2d_backward_weight", s);
    if (!implicit_fits(s)) return masked_conv2d_backward_weight_im2col<float>(s, x, gy, gw);
    const int64_t taps = masked_conv_taps(s.k, s.type), kk = s.k * s.k;
    const TapTables tables = masked_x_taps(s);
    // gwp [C_out, C_in*T], then gw [C_out, C_in, k*k] with 0 at the hidden taps.
    std::vector<float> gwp(size_t(s.c_out * s.c_in * taps));
    run_weight(s.n, 1, static_cast<const float*>(gy), s.c_out, tables, static_cast<const float*>(x),
               s.c_in * s.h * s.w, gwp.data());
    float* out = static_cast<float*>(gw);
    std::fill(out, out + s.c_out * s.c_in * kk, 0.0f);
    for (int64_t oc = 0; oc < s.c_out * s.c_in; ++oc)
        std::copy(gwp.begin() + oc * taps, gwp.begin() + (oc + 1) * taps, out + oc * kk);
}

}  // namespace mg::kernels::cpu

namespace mg::kernels {

void register_cpu_conv_implicit() {
    if (!cpu::has_avx512()) return;
    using namespace cpu;
    constexpr auto kCpu = Device::CPU;
    constexpr auto kF32 = DType::Float32;
    const char* forward = "one group: the GEMM packs its B panels straight from x (masked loads, gathers when "
                          "strided); else im2col";
    const char* backward = "stride-1 same-width convs: gy convolved with the reflected taps, B panels packed "
                           "straight from gy; else im2col";
    conv2d_forward_table().add("implicit", kCpu, kF32, &conv2d_forward_implicit_f32, 20, forward);
    conv2d_backward_input_table().add("implicit", kCpu, kF32, &conv2d_backward_input_implicit_f32, 20, backward);
    conv2d_backward_weight_table().add("implicit", kCpu, kF32, &conv2d_backward_weight_implicit_f32, 20,
                                       "one group: gy x B(x)^T, B^T's panels transposed straight from x (loads or "
                                       "gathers); per-thread partials in thread order; else im2col");
    masked_conv2d_forward_table().add("implicit", kCpu, kF32, &masked_conv2d_forward_implicit_f32, 20,
                                      "the kept taps' B panels packed straight from x (no col)");
    masked_conv2d_backward_input_table().add("implicit", kCpu, kF32, &masked_conv2d_backward_input_implicit_f32, 20,
                                             "gy convolved with the reflected kept taps, B panels packed from gy");
    masked_conv2d_backward_weight_table().add("implicit", kCpu, kF32, &masked_conv2d_backward_weight_implicit_f32, 20,
                                              "gy x B(x)^T on the kept taps, B^T's panels transposed straight from x");
}

}  // namespace mg::kernels
