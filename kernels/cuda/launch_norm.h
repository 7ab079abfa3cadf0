// The seam of the softmax / cross-entropy and batch-norm kernels (softmax.cu,
// batch_norm.cu): one launch function per kernel, on the plain argument structs of
// kernels/args/softmax.h and kernels/args/batch_norm.h (no fmt, see launch.h). Every launch
// runs on current_stream(), checks the launch and throws mg::Error naming the op on
// failure. All pointers are device pointers.
#pragma once

#include <cstdint>

#include "kernels/args/batch_norm.h"
#include "kernels/args/softmax.h"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- softmax, log-softmax, softmax cross-entropy (kernels/softmax.h) ----------------

void launch_softmax_forward(DType t, const SoftmaxShape& s, const void* x, void* y, bool log);
void launch_softmax_backward(DType t, const SoftmaxShape& s, const void* y, const void* grad_y, void* grad_x, bool log);
// Waits for the kernel, then throws mg::Error when a target is outside [0, classes)
// (loss and lse are written first; an out-of-range row's loss is NaN).
void launch_cross_entropy_forward(DType t, const SoftmaxShape& s, const void* x, const int64_t* target,
                                  void* loss, void* lse);
// Does not wait and does not check the targets again (the forward did): a row whose
// target is out of range gets e^(x - lse) * g with no one-hot term, as on the CPU.
void launch_cross_entropy_backward(DType t, const SoftmaxShape& s, const void* x, const int64_t* target,
                                   const void* lse, const void* grad_loss, int64_t grad_stride, double scale,
                                   void* grad_x);

// ---- batch normalisation (kernels/batch_norm.h) ----------------------------------------

void launch_batch_norm_forward(DType t, const BatchNormForwardArgs& a);
void launch_batch_norm_backward(DType t, const BatchNormBackwardArgs& a);

}  // namespace mg::kernels::cuda
