// Registers the CUDA softmax / log-softmax / cross-entropy kernels (softmax.cu) and the
// batch-norm kernels (batch_norm.cu) as variant "cuda" of the tables of kernels/softmax.h
// and kernels/batch_norm.h, float32 and float64: register_cuda_softmax_batch_norm(),
// called from register.cpp.
//
// As in register.cpp, each entry checks the sizes on the host and hands the same argument
// struct to the launch of kernels/cuda/launch_norm.h; only function pointers are stored:
// no CUDA call happens at registration.
#ifdef MINIGEN_WITH_CUDA
#include "kernels/batch_norm.h"
#include "kernels/cuda/launch_norm.h"
#include "kernels/cuda/register.h"
#include "kernels/softmax.h"

namespace mg::kernels::cuda {

namespace {

// ---- softmax, log-softmax, cross-entropy ---------------------------------------------

const SoftmaxShape& checked(const SoftmaxShape& s, const char* op) {
    MG_CHECK(s.outer >= 0 && s.classes >= 0 && s.inner >= 0, "cuda {}: negative shape (outer {}, classes {}, inner {})",
             op, s.outer, s.classes, s.inner);
    return s;
}

template <DType t>
void softmax_forward(const SoftmaxShape& s, const void* x, void* y, bool log) {
    launch_softmax_forward(t, checked(s, "softmax_forward"), x, y, log);
}
template <DType t>
void softmax_backward(const SoftmaxShape& s, const void* y, const void* grad_y, void* grad_x, bool log) {
    launch_softmax_backward(t, checked(s, "softmax_backward"), y, grad_y, grad_x, log);
}
template <DType t>
void cross_entropy_forward(const SoftmaxShape& s, const void* x, const int64_t* target, void* loss, void* lse) {
    launch_cross_entropy_forward(t, checked(s, "cross_entropy_forward"), x, target, loss, lse);
}
template <DType t>
void cross_entropy_backward(const SoftmaxShape& s, const void* x, const int64_t* target, const void* lse,
                            const void* grad_loss, int64_t grad_stride, double scale, void* grad_x) {
    MG_CHECK(grad_stride >= 0, "cuda cross_entropy_backward: negative grad_stride {}", grad_stride);
    launch_cross_entropy_backward(t, checked(s, "cross_entropy_backward"), x, target, lse, grad_loss,
                                  grad_stride, scale, grad_x);
}

// ---- batch norm --------------------------------------------------------------------------

const BatchNormShape& checked(const BatchNormShape& s, const char* op) {
    MG_CHECK(s.n >= 0 && s.c >= 0 && s.hw >= 0, "cuda {}: negative shape (n {}, c {}, hw {})", op, s.n, s.c, s.hw);
    return s;
}

template <DType t>
void batch_norm_forward(const BatchNormForwardArgs& a) {
    checked(a.shape, "batch_norm_forward");
    launch_batch_norm_forward(t, a);
}
template <DType t>
void batch_norm_backward(const BatchNormBackwardArgs& a) {
    checked(a.shape, "batch_norm_backward");
    launch_batch_norm_backward(t, a);
}

}  // namespace

void register_cuda_softmax_batch_norm() {
    for_float_dtypes([]<DType t>() {
        constexpr auto kCuda = Device::CUDA;
        const char* rows = "inner 1: a warp per row (lanes over classes, shuffle max/sum); else a thread per row "
                           "(coalesced over inner); double math, fixed order";
        softmax_forward_table().add("cuda", kCuda, t, &softmax_forward<t>, 10, rows);
        softmax_backward_table().add("cuda", kCuda, t, &softmax_backward<t>, 10, rows);
        cross_entropy_forward_table().add("cuda", kCuda, t, &cross_entropy_forward<t>, 10,
                                          "rows as softmax_forward; waits to count out-of-range targets");
        cross_entropy_backward_table().add("cuda", kCuda, t, &cross_entropy_backward<t>, 10,
                                           "rows as softmax_forward, no reduction (lse from the forward)");
        const char* channels =
            "a 256-thread block per channel: shifted double sums in a fixed tree, then y in the block";
        batch_norm_forward_table().add("cuda", kCuda, t, &batch_norm_forward<t>, 10, channels);
        batch_norm_backward_table().add(
            "cuda", kCuda, t, &batch_norm_backward<t>, 10,
            "a 256-thread block per channel: sum g, sum g(x-mean) in a fixed tree, then grad_x");
    });
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
