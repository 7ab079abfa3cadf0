// Pooling.
//   max_pool2d: the forward kernel records each window's argmax; the backward is a
//               scatter of the gradient to those positions: the backward kernel, or, when
//               the backward must itself be differentiable, scatter_add_last over each H*W
//               plane, whose own backward is the matching gather.
//               max_pool2d_with_indices hands out those argmax as PyTorch's indices.
//   avg_pool2d: linear; its backward kernel is its adjoint, and the adjoint's
//               backward is avg_pool2d again.
#include "core/ops/dispatch.h"
#include "kernels/pool.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

static K::Pool2dShape pool_shape(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding) {
    check_floating(op, x);
    MG_CHECK(x.dim() == 4, "{}: input must be [N, C, H, W], got {}", op, x.shape());
    if (stride.h == 0 && stride.w == 0) stride = kernel;
    MG_CHECK(kernel.h > 0 && kernel.w > 0, "{}: kernel size must be positive, got ({}, {})", op, kernel.h, kernel.w);
    MG_CHECK(stride.h > 0 && stride.w > 0, "{}: stride must be positive, got ({}, {})", op, stride.h, stride.w);
    MG_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w,
             "{}: padding ({}, {}) must be at most half the kernel ({}, {})", op, padding.h, padding.w, kernel.h,
             kernel.w);
    K::Pool2dShape s;
    s.n = x.shape()[0], s.c = x.shape()[1], s.h = x.shape()[2], s.w = x.shape()[3];
    s.kh = kernel.h, s.kw = kernel.w, s.stride_h = stride.h, s.stride_w = stride.w;
    s.pad_h = padding.h, s.pad_w = padding.w;
    MG_CHECK(s.h + 2 * s.pad_h >= s.kh && s.w + 2 * s.pad_w >= s.kw, "{}: kernel ({}, {}) larger than input {}", op,
             s.kh, s.kw, x.shape());
    s.oh = (s.h + 2 * s.pad_h - s.kh) / s.stride_h + 1;
    s.ow = (s.w + 2 * s.pad_w - s.kw) / s.stride_w + 1;
    return s;
}

// The values (recorded for autograd) and the argmax the forward kernel wrote.
static MaxPool2dResult max_pool2d_forward(const Tensor& x, const K::Pool2dShape& s) {
    Tensor xc = x.contiguous();
    Tensor y = empty(Shape{s.n, s.c, s.oh, s.ow}, {x.dtype(), x.device()});
    Tensor argmax = empty(y.shape(), {DType::Int64, x.device()});
    if (y.numel() > 0)
        K::max_pool2d_forward_table().get(x.device(), x.dtype())(s, xc.raw_data(), y.raw_data(), argmax.data<int64_t>());
    autograd::check_forward_anomaly("max_pool2d", y);
    Tensor values = autograd::record("max_pool2d", y, {x}, [argmax, s](const Tensor& g, const Saved&) {
        if (!autograd::needs_grad({&g})) {
            // First order: the backward kernel scatters g to the forward's own argmax. No index
            // check is needed (the forward kernel wrote them; the kernel still counts strays),
            // which saves scatter_add_last's two passes over the indices.
            Tensor gc = g.contiguous();
            Tensor gx = empty(Shape{s.n, s.c, s.h, s.w}, {g.dtype(), g.device()});
            if (gx.numel() > 0)
                K::max_pool2d_backward_table().get(g.device(), g.dtype())(s, gc.raw_data(), argmax.data<int64_t>(),
                                                                          gx.raw_data());
            return Grads{gx};
        }
        // Differentiable (create_graph): a scatter whose own backward is the matching gather.
        Tensor planes = g.reshape(Shape{s.n * s.c, s.oh * s.ow});
        Tensor idx = argmax.reshape(Shape{s.n * s.c, s.oh * s.ow});
        return Grads{scatter_add_last(planes, idx, s.h * s.w).reshape(Shape{s.n, s.c, s.h, s.w})};
    }, Keep::Shapes);
    return {values, argmax};
}

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
    return max_pool2d_forward(x, pool_shape("max_pool2d", x, kernel, stride, padding)).values;
}

// The kernel's argmax is PyTorch's index already (h * W + w in the unpadded plane, first
// maximum wins); the caller gets its own copy, so that writing to it cannot change the backward.
MaxPool2dResult max_pool2d_with_indices(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
    MaxPool2dResult r = max_pool2d_forward(x, pool_shape("max_pool2d_with_indices", x, kernel, stride, padding));
    r.indices = r.indices.clone();
    return r;
}

static Tensor avg_pool2d_backward(const Tensor& g, const K::Pool2dShape& s);

static Tensor avg_pool2d_forward(const Tensor& x, const K::Pool2dShape& s) {
    Tensor xc = x.contiguous();
    Tensor y = empty(Shape{s.n, s.c, s.oh, s.ow}, {x.dtype(), x.device()});
    if (y.numel() > 0) K::avg_pool2d_forward_table().get(x.device(), x.dtype())(s, xc.raw_data(), y.raw_data());
    autograd::check_forward_anomaly("avg_pool2d", y);
    return autograd::record("avg_pool2d", y, {x}, [s](const Tensor& g, const Saved&) {
        return Grads{avg_pool2d_backward(g, s)};
    }, Keep::Shapes);
}

static Tensor avg_pool2d_backward(const Tensor& g, const K::Pool2dShape& s) {
    Tensor gc = g.contiguous();
    Tensor gx = empty(Shape{s.n, s.c, s.h, s.w}, {g.dtype(), g.device()});
    if (gx.numel() > 0) K::avg_pool2d_backward_table().get(g.device(), g.dtype())(s, gc.raw_data(), gx.raw_data());
    return autograd::record("avg_pool2d_backward", gx, {g}, [s](const Tensor& gg, const Saved&) {
        return Grads{avg_pool2d_forward(gg, s)};
    }, Keep::Shapes);
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
    return avg_pool2d_forward(x, pool_shape("avg_pool2d", x, kernel, stride, padding));
}

}  // namespace mg
