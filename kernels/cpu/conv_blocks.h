// Pieces shared by the lowering convolutions (conv_im2col.cpp, conv_masked.cpp): per-thread
// scratch (scratch.h), a GEMM call from plain arguments, the split of a batch into one block of images
// per OpenMP thread, and the lowering of one tap when output rows are as wide as input rows.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>

#include "kernels/cpu/scratch.h"
#include "kernels/gemm.h"

namespace mg::kernels::cpu {

template <class T>
void call_gemm(GemmFn* gemm, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a,
               int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, double beta) {
    GemmArgs args;
    args.trans_a = trans_a;
    args.trans_b = trans_b;
    args.m = m;
    args.n = n;
    args.k = k;
    args.lda = lda;
    args.ldb = ldb;
    args.ldc = ldc;
    args.beta = beta;
    gemm(args, a, b, c);
}

// Runs body(thread, threads, first_image, end_image) on one contiguous block of images per
// thread, or once over all images when they are fewer than the threads. Returns how many
// blocks ran. Exceptions inside the parallel region are carried out of it.
template <class Body>
int for_each_image_block(int64_t images, Body body) {
    const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (max_threads <= 1 || images < max_threads) {
        body(0, 1, int64_t(0), images);
        return 1;
    }
    int blocks = 1;
    std::exception_ptr error;
#pragma omp parallel num_threads(max_threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (t == 0) blocks = nt;
        const int64_t base = images / nt, extra = images % nt;
        const int64_t first = t * base + std::min<int64_t>(t, extra);
        const int64_t end = first + base + (t < extra ? 1 : 0);
        try {
            body(t, nt, first, end);
        } catch (...) {
#pragma omp critical(minigen_conv_block_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    return blocks;
}

// The degenerate shapes: true (done) when out has no elements, or when every output is an
// empty sum (then out = 0); false when there is work to do.
template <class T>
bool done_if_empty(T* out, int64_t size, bool empty_sum) {
    if (size == 0) return true;
    if (!empty_sum) return false;
    std::fill(out, out + size, T(0));
    return true;
}

// acc[i] += partial t's [i] for t = 1 .. blocks-1 (partial t at partials + (t-1)*size; block 0
// accumulated into acc itself), in thread order: a fixed order for a given thread count.
// Every element is independent, so threads split the elements.
template <class T>
void add_partials_in_order(T* acc, const T* partials, int64_t size, int blocks) {
    if (blocks == 1) return;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < size; ++i) {
        T sum = acc[i];
        for (int t = 1; t < blocks; ++t) sum += partials[(t - 1) * size + i];
        acc[i] = sum;
    }
}

// The valid outputs of one tap of a stride-1 convolution whose output rows are as wide as
// its input rows (OW == W: "same" padding along w, as in PixelCNN's and the classifier's
// convs). Then output q = oh*W + ow reads input q + off_h*W + off_w: one row of col is the
// plane shifted by a constant, valid on [first, last) except for the |off_w| columns per row
// that the shift wraps into the neighbouring row. One long copy (or add) and a few zeros
// replace a short copy per output row: 14 or 28 floats, each paying a memmove call.
struct ShiftedTap {
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;  // valid output rows and columns
    int64_t first, last, shift;          // valid span of the row; input index = q + shift
    bool empty;
};

inline ShiftedTap shifted_tap(int64_t h, int64_t w, int64_t oh_count, int64_t off_h, int64_t off_w) {
    ShiftedTap t;
    t.oh_lo = std::clamp<int64_t>(-off_h, 0, oh_count);
    t.oh_hi = std::clamp<int64_t>(h - off_h, t.oh_lo, oh_count);
    t.ow_lo = std::clamp<int64_t>(-off_w, 0, w);
    t.ow_hi = std::clamp<int64_t>(w - off_w, t.ow_lo, w);
    t.empty = t.oh_lo >= t.oh_hi || t.ow_lo >= t.ow_hi;
    t.first = t.empty ? 0 : t.oh_lo * w + t.ow_lo;
    t.last = t.empty ? 0 : (t.oh_hi - 1) * w + t.ow_hi;
    t.shift = off_h * w + off_w;
    return t;
}

// Zeroes the columns of the valid rows that the shift wraps into the neighbouring row: a
// few elements per row, so plain loops (a fill call per row cost more than the copy saved).
template <class T>
void zero_wrapped_columns(const ShiftedTap& t, T* row, int64_t w) {
    for (int64_t oh = t.oh_lo; oh < t.oh_hi; ++oh) {
        T* r = row + oh * w;
        for (int64_t ow = 0; ow < t.ow_lo; ++ow) r[ow] = T(0);
        for (int64_t ow = t.ow_hi; ow < w; ++ow) r[ow] = T(0);
    }
}

// row[q] (q < oh_count*w) = plane[q + shift] where the tap is valid, 0 elsewhere.
template <class T>
void lower_shifted_tap(const ShiftedTap& t, const T* plane, int64_t w, int64_t oh_count, T* row) {
    const int64_t total = oh_count * w;
    std::fill(row, row + t.first, T(0));
    std::copy(plane + t.first + t.shift, plane + t.last + t.shift, row + t.first);
    std::fill(row + t.last, row + total, T(0));
    if (!t.empty) zero_wrapped_columns(t, row, w);
}

// plane[q + shift] += row[q] where the tap is valid: the adjoint of lower_shifted_tap. The
// wrapped columns of row (scratch) are zeroed first, so one contiguous add serves the span;
// every plane element still receives its contributions in the caller's tap order.
template <class T>
void lift_shifted_tap_add(const ShiftedTap& t, T* row, int64_t w, T* plane) {
    if (t.empty) return;
    zero_wrapped_columns(t, row, w);
    for (int64_t q = t.first; q < t.last; ++q) plane[q + t.shift] += row[q];
}

}  // namespace mg::kernels::cpu
