// conv2d and masked_conv2d "implicit" (float32, AVX-512): the im2col GEMM without the col
// matrix. The GEMM's B-packing step lowers the input straight into its panels
// (conv_implicit.h, conv_implicit_avx512.cpp), so per image
//   forward          y_n  [C_out, P]  = W  [C_out, C_in*T] · B(x_n)    taps (kh, kw)
//   backward_input   gx_n [C_in, H*W] = Wt [C_in, C_out*T] · B(gy_n)   the reflected taps
// where T is the number of taps (kh*kw, or the masked conv's kept taps) and Wt[ci][co*T + t] =
// W[co][ci][t]. backward_input is the stride-1 adjoint written as a forward convolution of gy:
// gx[ci, ih, iw] = sum over co, t of w[co, ci, t] * gy[co, ih - off_h(t), iw - off_w(t)], which
// writes gx once instead of accumulating a [C_in*T, H*W] col into it.
//
// What it saves against "im2col", measured at 1 thread on the shapes it serves (docs/kernels.md):
// the col write and its re-read by the packing (forward), the col2im pass and the zeroing of gx
// (backward_input). It serves stride-1 convolutions whose output rows are as wide as the input
// rows (the classifier's 3x3 "same" convs, PixelCNN's 7x7), one group, and at least as many
// images as threads (each image's GEMM runs on one thread), and backward_input only where
// C_in fills the micro-kernel's rows (rows_fill_tiles); other shapes, and batches smaller
// than the thread count, go to "im2col" unchanged. backward_weight stays "im2col": its B is
// col^T, whose panels are rows of taps, not rows of positions.
//
// Threads: one contiguous block of images per OpenMP thread, as in "im2col"; every image's
// output depends on that image only, so the result does not depend on the thread count.
#include <omp.h>

#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_blocks.h"
#include "kernels/cpu/conv_implicit.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/masked_conv.h"

namespace mg::kernels::cpu {

void check_conv2d_shape(std::string_view op, const Conv2dShape& s);             // kernels/cpu/conv.cpp
void check_masked_conv2d_shape(const char* op, const MaskedConv2dShape& s);  // kernels/cpu/conv_masked.cpp
template <class T> void conv2d_forward_im2col(const Conv2dShape&, const void*, const void*, void*);
template <class T> void conv2d_backward_input_im2col(const Conv2dShape&, const void*, const void*, void*);
template <class T> void masked_conv2d_forward_im2col(const MaskedConv2dShape&, const void*, const void*, void*);
template <class T>
void masked_conv2d_backward_input_im2col(const MaskedConv2dShape&, const void*, const void*, void*);

namespace {

// A tap list with its tables: source planes of src_rows x w, outputs of out_rows x w, tap i
// reading source (oh + off[i].first, ow + off[i].second) for output (oh, ow).
class TapTables {
public:
    TapTables(int64_t planes, int64_t src_rows, int64_t w, int64_t out_rows,
              const std::vector<std::pair<int64_t, int64_t>>& off)
        : planes_(planes), src_rows_(src_rows), w_(w), n_(out_rows * w), words_((n_ + 15) / 16) {
        shift_.resize(off.size());
        valid_.assign(off.size() * size_t(words_), 0);
        for (size_t i = 0; i < off.size(); ++i) {
            const ShiftedTap t = shifted_tap(src_rows, w, out_rows, off[i].first, off[i].second);
            shift_[i] = t.shift;
            if (t.empty) continue;
            uint16_t* bits = valid_.data() + i * size_t(words_);
            for (int64_t oh = t.oh_lo; oh < t.oh_hi; ++oh)
                for (int64_t q = oh * w + t.ow_lo; q < oh * w + t.ow_hi; ++q) bits[q / 16] |= uint16_t(1u << (q % 16));
        }
    }
    ShiftedLowering lowering() const {
        ShiftedLowering b;
        b.taps = int64_t(shift_.size());
        b.k = planes_ * b.taps;
        b.n = n_;
        b.plane_size = src_rows_ * w_;
        b.shift = shift_.data();
        b.valid = valid_.data();
        b.words = words_;
        return b;
    }

private:
    int64_t planes_, src_rows_, w_, n_, words_;
    std::vector<int64_t> shift_;
    std::vector<uint16_t> valid_;
};

int max_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// out_n [m, P] = a [m, K] · B(src_n) for every image, one block of images per thread.
void run_images(int64_t images, const float* a, int64_t m, const TapTables& taps, const float* src,
                int64_t src_image, float* out) {
    const ShiftedLowering b = taps.lowering();
    for_each_image_block(images, [&](int, int, int64_t first, int64_t end) {
        for (int64_t i = first; i < end; ++i) implicit_gemm_avx512_f32(a, b.k, m, b, src + i * src_image, out + i * m * b.n);
    });
}

// The shapes "implicit" serves; everything else goes to "im2col".
bool implicit_fits(const Conv2dShape& s) {
    return s.groups == 1 && s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w && s.n >= max_threads() &&
           s.c_in > 0 && s.c_out > 0 && s.oh > 0 && s.ow > 0;
}
bool implicit_fits(const MaskedConv2dShape& s) {
    return s.n >= max_threads() && s.c_in > 0 && s.c_out > 0 && s.h > 0 && s.w > 0;
}
// backward_input's GEMM has M = C_in rows, computed in whole micro-kernel tiles. "im2col"
// has M = C_in*T instead and pays a col2im pass; "implicit" wins only when C_in fills its
// tiles: 64 rows in 5 tiles of 14 (91%) gain ~5% on the 7x7 masked conv, 32 rows in 3 tiles
// (76%) lose ~4% on the classifier's second conv, and 1 row (the first conv) loses 9x.
bool rows_fill_tiles(int64_t rows) {
    const int64_t tile = implicit_gemm_row_tile_avx512_f32();
    return rows * 10 >= (rows + tile - 1) / tile * tile * 9;
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

}  // namespace

void conv2d_forward_implicit_f32(const Conv2dShape& s, const void* x, const void* w, void* y) {
    check_conv2d_shape("conv2d_forward", s);
    if (!implicit_fits(s)) return conv2d_forward_im2col<float>(s, x, w, y);
    std::vector<std::pair<int64_t, int64_t>> off;
    for (int64_t kh = 0; kh < s.kh; ++kh)
        for (int64_t kw = 0; kw < s.kw; ++kw) off.emplace_back(kh * s.dil_h - s.pad_h, kw * s.dil_w - s.pad_w);
    const TapTables taps(s.c_in, s.h, s.w, s.oh, off);
    run_images(s.n, static_cast<const float*>(w), s.c_out, taps, static_cast<const float*>(x), s.c_in * s.h * s.w,
               static_cast<float*>(y));
}

void conv2d_backward_input_implicit_f32(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    check_conv2d_shape("conv2d_backward_input", s);
    if (!implicit_fits(s) || !rows_fill_tiles(s.c_in)) return conv2d_backward_input_im2col<float>(s, gy, w, gx);
    std::vector<std::pair<int64_t, int64_t>> off;  // the reflected taps
    for (int64_t kh = 0; kh < s.kh; ++kh)
        for (int64_t kw = 0; kw < s.kw; ++kw) off.emplace_back(s.pad_h - kh * s.dil_h, s.pad_w - kw * s.dil_w);
    const TapTables taps(s.c_out, s.oh, s.w, s.h, off);
    const int64_t kk = s.kh * s.kw;
    const std::vector<float> wt = transpose_taps(static_cast<const float*>(w), s.c_out, s.c_in, kk, kk);
    run_images(s.n, wt.data(), s.c_in, taps, static_cast<const float*>(gy), s.c_out * s.oh * s.ow,
               static_cast<float*>(gx));
}

void masked_conv2d_forward_implicit_f32(const MaskedConv2dShape& s, const void* x, const void* w, void* y) {
    check_masked_conv2d_shape("masked_conv2d_forward", s);
    if (!implicit_fits(s)) return masked_conv2d_forward_im2col<float>(s, x, w, y);
    const int64_t c = s.k / 2, taps = masked_conv_taps(s.k, s.type), kk = s.k * s.k;
    std::vector<std::pair<int64_t, int64_t>> off;
    for (int64_t t = 0; t < taps; ++t) {
        int64_t kh, kw;
        masked_conv_tap(s.k, t, kh, kw);
        off.emplace_back(kh - c, kw - c);
    }
    const TapTables tables(s.c_in, s.h, s.w, s.h, off);
    // wp [C_out, C_in*T]: the kept taps of w, which are the first T of each (co, ci).
    const float* wf = static_cast<const float*>(w);
    std::vector<float> wp(size_t(s.c_out * s.c_in * taps));
    for (int64_t oc = 0; oc < s.c_out * s.c_in; ++oc)
        std::copy(wf + oc * kk, wf + oc * kk + taps, wp.begin() + oc * taps);
    run_images(s.n, wp.data(), s.c_out, tables, static_cast<const float*>(x), s.c_in * s.h * s.w,
               static_cast<float*>(y));
}

void masked_conv2d_backward_input_implicit_f32(const MaskedConv2dShape& s, const void* gy, const void* w, void* gx) {
    check_masked_conv2d_shape("masked_conv2d_backward_input", s);
    if (!implicit_fits(s) || !rows_fill_tiles(s.c_in)) return masked_conv2d_backward_input_im2col<float>(s, gy, w, gx);
    const int64_t c = s.k / 2, taps = masked_conv_taps(s.k, s.type);
    std::vector<std::pair<int64_t, int64_t>> off;  // the reflected kept taps
    for (int64_t t = 0; t < taps; ++t) {
        int64_t kh, kw;
        masked_conv_tap(s.k, t, kh, kw);
        off.emplace_back(c - kh, c - kw);
    }
    const TapTables tables(s.c_out, s.h, s.w, s.h, off);
    const std::vector<float> wt = transpose_taps(static_cast<const float*>(w), s.c_out, s.c_in, taps, s.k * s.k);
    run_images(s.n, wt.data(), s.c_in, tables, static_cast<const float*>(gy), s.c_out * s.h * s.w,
               static_cast<float*>(gx));
}

}  // namespace mg::kernels::cpu

namespace mg::kernels {

void register_cpu_conv_implicit() {
    if (!cpu::has_avx512()) return;
    using namespace cpu;
    constexpr auto kCpu = Device::CPU;
    constexpr auto kF32 = DType::Float32;
    const char* forward = "stride-1 same-width convs: the GEMM packs its B panels straight from x (no col); else im2col";
    const char* backward =
        "stride-1 same-width convs: gy convolved with the reflected taps, B panels packed straight from gy; else im2col";
    conv2d_forward_table().add("implicit", kCpu, kF32, &conv2d_forward_implicit_f32, 20, forward);
    conv2d_backward_input_table().add("implicit", kCpu, kF32, &conv2d_backward_input_implicit_f32, 20, backward);
    masked_conv2d_forward_table().add("implicit", kCpu, kF32, &masked_conv2d_forward_implicit_f32, 20,
                                      "the kept taps' B panels packed straight from x (no col)");
    masked_conv2d_backward_input_table().add("implicit", kCpu, kF32, &masked_conv2d_backward_input_implicit_f32, 20,
                                             "gy convolved with the reflected kept taps, B panels packed from gy");
}

}  // namespace mg::kernels
