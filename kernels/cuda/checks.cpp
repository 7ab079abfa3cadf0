#ifdef MINIGEN_WITH_CUDA
#include "kernels/cuda/checks.h"

#include "kernels/cuda/runtime.h"

namespace mg::kernels::cuda {

void check_gemm_args(const GemmArgs& g, std::string_view variant, const void* a, const void* b, const void* c) {
    MG_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 0, "gemm[{}]: negative size: m={} n={} k={} batch={}",
             variant, g.m, g.n, g.k, g.batch);
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    MG_CHECK(c != nullptr, "gemm[{}]: C is null for a {}x{} output", variant, g.m, g.n);
    MG_CHECK(g.ldc >= g.n, "gemm[{}]: ldc={} is less than n={}", variant, g.ldc, g.n);
    if (g.k > 0) {
        const int64_t a_cols = g.trans_a ? g.m : g.k, b_cols = g.trans_b ? g.k : g.n;
        MG_CHECK(g.lda >= a_cols, "gemm[{}]: lda={} is less than {} (m={} k={} trans_a={})", variant, g.lda, a_cols,
                 g.m, g.k, g.trans_a);
        MG_CHECK(g.ldb >= b_cols, "gemm[{}]: ldb={} is less than {} (k={} n={} trans_b={})", variant, g.ldb, b_cols,
                 g.k, g.n, g.trans_b);
        MG_CHECK(a != nullptr && b != nullptr, "gemm[{}]: A or B is null with k={}", variant, g.k);
    }
    // Batches may share A or B (stride 0 broadcasts a weight) but never write the same C
    // element: either each batch has its own block of rows, or the batches sit side by
    // side within the rows (the im2col convolution's interleaved columns).
    if (g.batch > 1) {
        MG_CHECK(g.stride_a >= 0 && g.stride_b >= 0, "gemm[{}]: negative batch stride: stride_a={} stride_b={}",
                 variant, g.stride_a, g.stride_b);
        const bool separate_blocks = g.stride_c >= (g.m - 1) * g.ldc + g.n;
        const bool side_by_side = g.stride_c >= g.n && (g.batch - 1) * g.stride_c + g.n <= g.ldc;
        MG_CHECK(separate_blocks || side_by_side,
                 "gemm[{}]: stride_c={} makes the {} outputs of {}x{} (ldc={}) overlap", variant, g.stride_c, g.batch,
                 g.m, g.n, g.ldc);
    }
}

bool conv2d_done_early(const char* what, const Conv2dShape& s, ConvDirection dir, void* out, size_t element_bytes) {
    check_conv2d_shape(what, s);
    const bool no_pixels = s.oh == 0 || s.ow == 0;
    int64_t out_elements = 0;
    bool sums_nothing = false;
    switch (dir) {
        case ConvDirection::Forward:
            out_elements = s.n * s.c_out * s.oh * s.ow, sums_nothing = s.c_in == 0;
            break;
        case ConvDirection::BackwardInput:
            out_elements = s.n * s.c_in * s.h * s.w, sums_nothing = s.c_out == 0 || no_pixels;
            break;
        case ConvDirection::BackwardWeight:
            out_elements = s.c_out * (s.c_in / s.groups) * s.kh * s.kw, sums_nothing = s.n == 0 || no_pixels;
            break;
    }
    if (out_elements == 0) return true;
    if (!sums_nothing) return false;
    check(cudaMemsetAsync(out, 0, size_t(out_elements) * element_bytes, current_stream()), what);
    return true;
}

void check_pool2d_shape(std::string_view op, const Pool2dShape& s) {
    MG_CHECK(s.n >= 0 && s.c >= 0 && s.h >= 0 && s.w >= 0, "{}: negative size in input [{}, {}, {}, {}]", op, s.n, s.c,
             s.h, s.w);
    MG_CHECK(s.kh >= 1 && s.kw >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
             "{}: kernel {}x{} and stride ({}, {}) must be >= 1, padding ({}, {}) >= 0", op, s.kh, s.kw, s.stride_h,
             s.stride_w, s.pad_h, s.pad_w);
    const int64_t span_h = s.h + 2 * s.pad_h - s.kh, span_w = s.w + 2 * s.pad_w - s.kw;
    const int64_t oh = span_h < 0 ? 0 : span_h / s.stride_h + 1, ow = span_w < 0 ? 0 : span_w / s.stride_w + 1;
    MG_CHECK(s.oh == oh && s.ow == ow, "{}: output {}x{} does not match input {}x{}, kernel {}x{}: expected {}x{}", op,
             s.oh, s.ow, s.h, s.w, s.kh, s.kw, oh, ow);
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
