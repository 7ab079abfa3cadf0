// The seam of the softmax / cross-entropy and batch-norm kernels (softmax.cu,
// batch_norm.cu): plain copies of the argument structs of kernels/softmax.h and
// kernels/batch_norm.h, and one launch function per kernel. register_norm.cpp (g++)
// copies the real structs into these field by field; the .cu files see only this header
// and launch.h (no fmt, see launch.h). Every launch runs on current_stream(), checks the
// launch and throws mg::Error naming the op on failure. All pointers are device pointers.
#pragma once

#include <cstdint>

#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- softmax, log-softmax, softmax cross-entropy (kernels/softmax.h) ----------------

// A copy of mg::kernels::SoftmaxShape: x is [outer, classes, inner], a row is x[o, :, i].
struct SoftmaxDesc {
    int64_t outer = 1, classes = 1, inner = 1;
};

void launch_softmax_forward(ScalarType t, const SoftmaxDesc& s, const void* x, void* y, bool log);
void launch_softmax_backward(ScalarType t, const SoftmaxDesc& s, const void* y, const void* grad_y, void* grad_x,
                             bool log);
// Waits for the kernel, then throws mg::Error when a target is outside [0, classes)
// (loss and lse are written first; an out-of-range row's loss is NaN).
void launch_cross_entropy_forward(ScalarType t, const SoftmaxDesc& s, const void* x, const int64_t* target,
                                  void* loss, void* lse);
// Does not wait and does not check the targets again (the forward did): a row whose
// target is out of range gets e^(x - lse) * g with no one-hot term, as on the CPU.
void launch_cross_entropy_backward(ScalarType t, const SoftmaxDesc& s, const void* x, const int64_t* target,
                                   const void* lse, const void* grad_loss, int64_t grad_stride, double scale,
                                   void* grad_x);

// ---- batch normalisation (kernels/batch_norm.h) ----------------------------------------

// A copy of mg::kernels::BatchNormShape: x is [n, c, hw].
struct BatchNormDesc {
    int64_t n = 0, c = 0, hw = 1;
};

// A copy of mg::kernels::BatchNormForwardArgs.
struct BatchNormForwardDesc {
    BatchNormDesc shape;
    const void* x = nullptr;
    const void* weight = nullptr;  // or null
    const void* bias = nullptr;    // or null
    void* running_mean = nullptr;  // training: updated when both are given; eval: read (required)
    void* running_var = nullptr;
    bool training = true;
    double momentum = 0.1, eps = 1e-5;
    void* y = nullptr;
    void* save_mean = nullptr;    // or null
    void* save_invstd = nullptr;  // or null
};

// A copy of mg::kernels::BatchNormBackwardArgs.
struct BatchNormBackwardDesc {
    BatchNormDesc shape;
    const void* x = nullptr;
    const void* grad_y = nullptr;
    const void* save_mean = nullptr;    // required
    const void* save_invstd = nullptr;  // required
    const void* weight = nullptr;       // or null
    void* grad_x = nullptr;             // or null
    void* grad_weight = nullptr;        // or null
    void* grad_bias = nullptr;          // or null
};

void launch_batch_norm_forward(ScalarType t, const BatchNormForwardDesc& a);
void launch_batch_norm_backward(ScalarType t, const BatchNormBackwardDesc& a);

}  // namespace mg::kernels::cuda
