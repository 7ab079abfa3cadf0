// Registers the CUDA softmax / log-softmax / cross-entropy kernels (softmax.cu) and the
// batch-norm kernels (batch_norm.cu) as variant "cuda" of the tables of kernels/softmax.h
// and kernels/batch_norm.h, float32 and float64: register_cuda_softmax_batch_norm(),
// called from register.cpp.
//
// As in register.cpp, each argument struct is copied field by field into its fmt-free
// twin (kernels/cuda/launch_norm.h) after a host-side check of the sizes, and only
// function pointers are stored: no CUDA call happens at registration.
#ifdef MINIGEN_WITH_CUDA
#include "kernels/batch_norm.h"
#include "kernels/cuda/launch_norm.h"
#include "kernels/softmax.h"

namespace mg::kernels::cuda {

namespace {

// A field added to an argument struct must be copied below too.
static_assert(sizeof(SoftmaxDesc) == sizeof(SoftmaxShape) && sizeof(BatchNormDesc) == sizeof(BatchNormShape) &&
              sizeof(BatchNormForwardDesc) == sizeof(BatchNormForwardArgs) &&
              sizeof(BatchNormBackwardDesc) == sizeof(BatchNormBackwardArgs));

constexpr ScalarType scalar(DType t) { return ScalarType(int(t)); }

// ---- softmax, log-softmax, cross-entropy ---------------------------------------------

SoftmaxDesc to_desc(const SoftmaxShape& s, const char* op) {
    MG_CHECK(s.outer >= 0 && s.classes >= 0 && s.inner >= 0, "cuda {}: negative shape (outer {}, classes {}, inner {})",
             op, s.outer, s.classes, s.inner);
    SoftmaxDesc d;
    d.outer = s.outer, d.classes = s.classes, d.inner = s.inner;
    return d;
}

template <DType t>
void softmax_forward(const SoftmaxShape& s, const void* x, void* y, bool log) {
    launch_softmax_forward(scalar(t), to_desc(s, "softmax_forward"), x, y, log);
}
template <DType t>
void softmax_backward(const SoftmaxShape& s, const void* y, const void* grad_y, void* grad_x, bool log) {
    launch_softmax_backward(scalar(t), to_desc(s, "softmax_backward"), y, grad_y, grad_x, log);
}
template <DType t>
void cross_entropy_forward(const SoftmaxShape& s, const void* x, const int64_t* target, void* loss, void* lse) {
    launch_cross_entropy_forward(scalar(t), to_desc(s, "cross_entropy_forward"), x, target, loss, lse);
}
template <DType t>
void cross_entropy_backward(const SoftmaxShape& s, const void* x, const int64_t* target, const void* lse,
                            const void* grad_loss, int64_t grad_stride, double scale, void* grad_x) {
    MG_CHECK(grad_stride >= 0, "cuda cross_entropy_backward: negative grad_stride {}", grad_stride);
    launch_cross_entropy_backward(scalar(t), to_desc(s, "cross_entropy_backward"), x, target, lse, grad_loss,
                                  grad_stride, scale, grad_x);
}

// ---- batch norm --------------------------------------------------------------------------

BatchNormDesc to_desc(const BatchNormShape& s, const char* op) {
    MG_CHECK(s.n >= 0 && s.c >= 0 && s.hw >= 0, "cuda {}: negative shape (n {}, c {}, hw {})", op, s.n, s.c, s.hw);
    BatchNormDesc d;
    d.n = s.n, d.c = s.c, d.hw = s.hw;
    return d;
}

BatchNormForwardDesc to_desc(const BatchNormForwardArgs& a) {
    BatchNormForwardDesc d;
    d.shape = to_desc(a.shape, "batch_norm_forward");
    d.x = a.x, d.weight = a.weight, d.bias = a.bias;
    d.running_mean = a.running_mean, d.running_var = a.running_var;
    d.training = a.training, d.momentum = a.momentum, d.eps = a.eps;
    d.y = a.y, d.save_mean = a.save_mean, d.save_invstd = a.save_invstd;
    return d;
}

BatchNormBackwardDesc to_desc(const BatchNormBackwardArgs& a) {
    BatchNormBackwardDesc d;
    d.shape = to_desc(a.shape, "batch_norm_backward");
    d.x = a.x, d.grad_y = a.grad_y, d.save_mean = a.save_mean, d.save_invstd = a.save_invstd, d.weight = a.weight;
    d.grad_x = a.grad_x, d.grad_weight = a.grad_weight, d.grad_bias = a.grad_bias;
    return d;
}

template <DType t>
void batch_norm_forward(const BatchNormForwardArgs& a) {
    launch_batch_norm_forward(scalar(t), to_desc(a));
}
template <DType t>
void batch_norm_backward(const BatchNormBackwardArgs& a) {
    launch_batch_norm_backward(scalar(t), to_desc(a));
}

template <DType t>
void add_dtype() {
    constexpr auto kCuda = Device::CUDA;
    const char* rows = "inner 1: a warp per row (lanes over classes, shuffle max/sum); else a thread per row "
                       "(coalesced over inner); double math, fixed order";
    softmax_forward_table().add("cuda", kCuda, t, &softmax_forward<t>, 10, rows);
    softmax_backward_table().add("cuda", kCuda, t, &softmax_backward<t>, 10, rows);
    cross_entropy_forward_table().add("cuda", kCuda, t, &cross_entropy_forward<t>, 10,
                                      "rows as softmax_forward; waits to count out-of-range targets");
    cross_entropy_backward_table().add("cuda", kCuda, t, &cross_entropy_backward<t>, 10,
                                       "rows as softmax_forward, no reduction (lse from the forward)");
    const char* channels = "a 256-thread block per channel: shifted double sums in a fixed tree, then y in the block";
    batch_norm_forward_table().add("cuda", kCuda, t, &batch_norm_forward<t>, 10, channels);
    batch_norm_backward_table().add("cuda", kCuda, t, &batch_norm_backward<t>, 10,
                                    "a 256-thread block per channel: sum g, sum g(x-mean) in a fixed tree, then grad_x");
}

}  // namespace

void register_cuda_softmax_batch_norm() {
    add_dtype<DType::Float32>();
    add_dtype<DType::Float64>();
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
