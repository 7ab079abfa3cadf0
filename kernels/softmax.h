// Softmax, log-softmax and softmax cross-entropy along one dimension, fused.
//
// Every kernel sees a dense tensor as [outer, classes, inner]: a "row" is the `classes`
// elements x[o, :, i], `inner` apart, and rows are numbered r = o * inner + i. inner = 1 is
// the [rows, classes] case (the classifier's [128, 10]); logits in NCHW over channels give
// inner = H * W (PixelCNN's [64, 256, 28, 28]: outer 64, classes 256, inner 784).
//
// Per row, with m = max_c x and lse = m + ln sum_c e^(x_c - m):
//   softmax      y = e^(x - lse)                 backward  gx = y (gy - sum_c gy y)
//   log_softmax  y = x - lse                     backward  gx = gy - e^y sum_c gy
//   cross-entropy loss = lse - x[target]          backward  gx = (e^(x - lse) - onehot(target)) * g_row
// The cross-entropy forward keeps lse per row, so its backward is one pass over x.
//
// Variants: "reference" (serial loops, double accumulation, libm exp), "omp" (the same
// loops, rows across OpenMP threads), "avx2" / "avx512" (kernels/cpu/softmax_simd.h:
// vector exp, rows across threads above a size threshold). Results do not depend on the
// thread count: each row is computed by one thread in a fixed order.
#pragma once

#include "kernels/args/softmax.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

// y = softmax (log = false) or log_softmax (log = true) of x; x, y [outer, classes, inner].
using SoftmaxForwardFn = void(const SoftmaxShape& s, const void* x, void* y, bool log);
// gx from the forward's output y and gy (all [outer, classes, inner]); formulas above.
using SoftmaxBackwardFn = void(const SoftmaxShape& s, const void* y, const void* grad_y, void* grad_x, bool log);

// x [outer, classes, inner], target int64 [rows] -> loss [rows], lse [rows].
// A target outside [0, classes) throws mg::Error (after the loop; its loss is NaN).
using CrossEntropyForwardFn = void(const SoftmaxShape& s, const void* x, const int64_t* target, void* loss,
                                   void* lse);
// gx [outer, classes, inner] = (e^(x - lse) - onehot(target)) * grad_loss[r * grad_stride] * scale.
// grad_stride 0 broadcasts one gradient (reduction mean: scale = 1/rows; sum: scale = 1);
// grad_stride 1 is reduction none, one gradient per row.
using CrossEntropyBackwardFn = void(const SoftmaxShape& s, const void* x, const int64_t* target, const void* lse,
                                    const void* grad_loss, int64_t grad_stride, double scale, void* grad_x);

template <> struct KernelCost<SoftmaxForwardFn> {
    static Cost of(DType t, const SoftmaxShape& s, const void*, void*, bool log) { return softmax_forward_cost(s, t, log); }
};
template <> struct KernelCost<SoftmaxBackwardFn> {
    static Cost of(DType t, const SoftmaxShape& s, const void*, const void*, void*, bool log) {
        return softmax_backward_cost(s, t, log);
    }
};
template <> struct KernelCost<CrossEntropyForwardFn> {
    static Cost of(DType t, const SoftmaxShape& s, const void*, const int64_t*, void*, void*) {
        return cross_entropy_forward_cost(s, t);
    }
};
template <> struct KernelCost<CrossEntropyBackwardFn> {
    static Cost of(DType t, const SoftmaxShape& s, const void*, const int64_t*, const void*, const void*, int64_t,
                   double, void*) {
        return cross_entropy_backward_cost(s, t);
    }
};
MG_KERNEL_TABLE(softmax_forward, SoftmaxForwardFn)
MG_KERNEL_TABLE(softmax_backward, SoftmaxBackwardFn)
MG_KERNEL_TABLE(cross_entropy_forward, CrossEntropyForwardFn)
MG_KERNEL_TABLE(cross_entropy_backward, CrossEntropyBackwardFn)

}  // namespace mg::kernels
