// The implicit-GEMM convolution's driver pieces (conv_implicit.cpp), shared with the
// variants that lower their source differently first (conv_polyphase.cpp): the tap tables of
// an ImplicitLowering, and the loops that run its GEMM over a batch, one block of images per
// thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cpu/conv_implicit.h"

namespace mg::kernels::cpu {

// Where the taps of one lowering read: for output (oh, ow) of an out_h x out_w image, tap t
// reads source (oh*stride_h + dh(t), ow*stride_w + dw(t)) of a src_h x src_w plane; `images`
// images side by side, image i's source image_size elements after image 0's.
struct Geometry {
    int64_t src_h, src_w, out_h, out_w, stride_h, stride_w, images, image_size;
};

// The tables of ImplicitLowering for a tap list (dh, dw) over `planes` source planes.
class TapTables {
public:
    TapTables(int64_t planes, const Geometry& g, const std::vector<std::pair<int64_t, int64_t>>& taps)
        : planes_(planes), plane_size_(g.src_h * g.src_w), positions_(g.out_h * g.out_w) {
        n_ = g.images * positions_;
        words_ = (n_ + 15) / 16;
        tap_offset_.resize(taps.size());
        valid_.assign(taps.size() * size_t(words_), 0);
        // Column j = (image i, output row oh, output column ow), in that order.
        for (size_t t = 0; t < taps.size(); ++t) {
            const auto [dh, dw] = taps[t];
            tap_offset_[t] = dh * g.src_w + dw;
            uint16_t* bits = valid_.data() + t * size_t(words_);
            int64_t j = 0;
            for (int64_t i = 0; i < g.images; ++i)
                for (int64_t oh = 0; oh < g.out_h; ++oh) {
                    const int64_t ih = oh * g.stride_h + dh;
                    for (int64_t ow = 0; ow < g.out_w; ++ow, ++j) {
                        const int64_t iw = ow * g.stride_w + dw;
                        if (ih >= 0 && ih < g.src_h && iw >= 0 && iw < g.src_w)
                            bits[j / 16] |= uint16_t(1u << (j % 16));
                    }
                }
        }
        // Column j reads source offset j (one masked load per vector) when one image's output
        // rows are as wide as its input rows at stride 1; otherwise offsets for a gather.
        if (g.images == 1 && g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.src_w) return;
        column_.assign(size_t(words_ * 16), 0);
        int64_t j = 0;
        for (int64_t i = 0; i < g.images; ++i)
            for (int64_t oh = 0; oh < g.out_h; ++oh)
                for (int64_t ow = 0; ow < g.out_w; ++ow, ++j)
                    column_[size_t(j)] = int32_t(i * g.image_size + oh * g.stride_h * g.src_w + ow * g.stride_w);
    }
    // Replaces the column offsets by runs of consecutive offsets (conv_implicit.h) when no
    // 16-column vector has more than max_runs of them; returns whether it did.
    bool use_runs(int max_runs = kMaxImplicitRuns) {
        max_runs = std::min(max_runs, kMaxImplicitRuns);
        if (column_.empty()) return false;
        std::vector<uint32_t> begin{0};
        std::vector<ImplicitRun> runs;
        for (int64_t w = 0; w < words_; ++w) {
            const int32_t* c = column_.data() + w * 16;
            const int64_t lanes = std::min<int64_t>(16, n_ - w * 16);  // lanes past n_ are masked off
            for (int64_t l = 0; l < lanes; ++l) {
                if (l == 0 || c[l] != c[l - 1] + 1) runs.push_back({int32_t(c[l] - (w * 16 + l)), 0});
                runs.back().lanes |= uint16_t(1u << l);
            }
            if (int64_t(runs.size() - begin.back()) > max_runs) return false;
            begin.push_back(uint32_t(runs.size()));
        }
        run_begin_ = std::move(begin);
        runs_ = std::move(runs);
        return true;
    }
    // The lowering of the first `images` images of the block (the last block may be shorter).
    ImplicitLowering lowering(int64_t images) const {
        ImplicitLowering b;
        b.taps = int64_t(tap_offset_.size());
        b.k = planes_ * b.taps;
        b.n = images * positions_;
        b.plane_size = plane_size_;
        b.tap_offset = tap_offset_.data();
        b.valid = valid_.data();
        b.words = words_;
        b.column = column_.empty() ? nullptr : column_.data();
        b.run_begin = runs_.empty() ? nullptr : run_begin_.data();
        b.runs = runs_.empty() ? nullptr : runs_.data();
        return b;
    }

private:
    int64_t planes_, plane_size_, positions_, n_ = 0, words_ = 0;
    std::vector<int64_t> tap_offset_;
    std::vector<uint16_t> valid_;
    std::vector<int32_t> column_;
    std::vector<uint32_t> run_begin_;
    std::vector<ImplicitRun> runs_;
};

// The OpenMP threads a conv may use here (1 inside a parallel region).
int max_threads();

// out_n [m, P] = a [m, K] · B(src_n) for every image, `chunk` images per GEMM (the tables are
// built for chunk images), one block of images per thread. A GEMM over several images writes a
// [m, chunk*P] staging block, copied out image by image.
void run_images(int64_t images, int64_t chunk, const float* a, int64_t m, const TapTables& taps, const float* src,
                int64_t src_image, float* out);

// gw [m, K] = sum over images of gy_n [m, P] · B(src_n)^T, `chunk` images per GEMM. Per-thread
// partials added in thread order: bitwise reproducible for a given thread count.
void run_weight(int64_t images, int64_t chunk, const float* gy, int64_t m, const TapTables& taps, const float* src,
                int64_t src_image, float* gw);

// Whether a GEMM with `rows` rows fills the micro-kernel's row tiles (90%): where a backward_input
// with M = C_in pays off against im2col's M = C_in*T.
bool rows_fill_tiles(int64_t rows);

// Images side by side in one GEMM: up to 512 columns of `positions` each, within the images a
// thread has, their sources below 2^30 elements (int32 column offsets).
int64_t images_per_gemm(int64_t images, int64_t positions, int64_t image_size);

}  // namespace mg::kernels::cpu
