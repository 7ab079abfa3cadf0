// PixelCNN's masked convolution: conv2d(x, w * mask) computed on the kept taps only
// (kernels/masked_conv.h). Like conv2d (core/ops/conv.cpp) it is bilinear, and its three
// faces are each other's backward, so it is differentiable to any order:
//
//   y  = F(x, w)        dx = Ft(gy, w)   dw = Fw(x, gy)
//   gx = Ft(gy, w)      d(gy) = F(g, w)  dw = Fw(g, gy)
//   gw = Fw(x, gy)      dx = Ft(gy, g)   d(gy) = F(x, g)
//
// Where a device or dtype has no masked_conv2d kernel it is conv2d with the weight multiplied
// by the mask, which computes the same function (CUDA has its own: kernels/cuda/masked_conv.cpp).
#include <vector>

#include "core/ops/dispatch.h"
#include "kernels/masked_conv.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

namespace {

K::MaskedConv2dShape make_shape(const char* op, int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out,
                                int64_t k, char type) {
    MG_CHECK(type == 'A' || type == 'B', "{}: mask type must be 'A' or 'B', got '{}'", op, type);
    MG_CHECK(k >= 1 && k % 2 == 1, "{}: kernel size {} must be odd (the mask needs a centre)", op, k);
    K::MaskedConv2dShape s;
    s.n = n, s.c_in = c_in, s.h = h, s.w = w, s.c_out = c_out, s.k = k, s.type = type;
    return s;
}

void check_weight(const char* op, const Tensor& weight) {
    MG_CHECK(weight.dim() == 4 && weight.size(2) == weight.size(3),
             "{}: weight must be [C_out, C_in, k, k], got {}", op, weight.shape());
}

// [1, 1, k, k] of 0 and 1: the taps that stay (for the conv2d fallback).
Tensor tap_mask(int64_t k, char type, const Tensor& like) {
    std::vector<double> m(size_t(k * k), 0.0);
    for (int64_t t = 0; t < K::masked_conv_taps(k, type); ++t) m[size_t(t)] = 1.0;  // a prefix in raster order
    return from_vector(m, Shape{1, 1, k, k}).to(like.dtype()).to(like.device());
}

Conv2dOptions same_padding(int64_t k) {
    Conv2dOptions o;
    o.padding = k / 2;
    return o;
}

Tensor face_forward(const Tensor& x, const Tensor& w, const K::MaskedConv2dShape& s);
Tensor face_backward_input(const Tensor& gy, const Tensor& w, const K::MaskedConv2dShape& s);
Tensor face_backward_weight(const Tensor& x, const Tensor& gy, const K::MaskedConv2dShape& s);

Tensor face_forward(const Tensor& x, const Tensor& w, const K::MaskedConv2dShape& s) {
    Tensor y = run_bilinear_kernel(K::masked_conv2d_forward_table(), s, Shape{s.n, s.c_out, s.h, s.w}, x, w);
    autograd::check_forward_anomaly("masked_conv2d", y);
    return autograd::record("masked_conv2d", y, {x, w}, [s](const Tensor& gy, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_backward_input(gy, saved.input(1), s) : Tensor(),
                     saved.needs_grad(1) ? face_backward_weight(saved.input(0), gy, s) : Tensor()};
    });
}

Tensor face_backward_input(const Tensor& gy, const Tensor& w, const K::MaskedConv2dShape& s) {
    Tensor gx =
        run_bilinear_kernel(K::masked_conv2d_backward_input_table(), s, Shape{s.n, s.c_in, s.h, s.w}, gy, w);
    autograd::check_forward_anomaly("masked_conv2d_backward_input", gx);
    return autograd::record("masked_conv2d_backward_input", gx, {gy, w}, [s](const Tensor& g, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_forward(g, saved.input(1), s) : Tensor(),
                     saved.needs_grad(1) ? face_backward_weight(g, saved.input(0), s) : Tensor()};
    });
}

Tensor face_backward_weight(const Tensor& x, const Tensor& gy, const K::MaskedConv2dShape& s) {
    Tensor gw =
        run_bilinear_kernel(K::masked_conv2d_backward_weight_table(), s, Shape{s.c_out, s.c_in, s.k, s.k}, x, gy);
    autograd::check_forward_anomaly("masked_conv2d_backward_weight", gw);
    return autograd::record("masked_conv2d_backward_weight", gw, {x, gy}, [s](const Tensor& g, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_backward_input(saved.input(1), g, s) : Tensor(),
                     saved.needs_grad(1) ? face_forward(saved.input(0), g, s) : Tensor()};
    });
}

}  // namespace

Tensor masked_conv2d(const Tensor& x, const Tensor& weight, char mask_type) {
    const char* op = "masked_conv2d";
    check_floating(op, x);
    check_same_kind(op, x, weight);
    check_weight(op, weight);
    MG_CHECK(x.dim() == 4 && x.size(1) == weight.size(1), "{}: input {} does not match weight {} (input [N, {}, H, W])",
             op, x.shape(), weight.shape(), weight.size(1));
    const int64_t k = weight.size(2);
    K::MaskedConv2dShape s = make_shape(op, x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), k, mask_type);
    if (!K::masked_conv2d_forward_table().has_kernel(x.device(), x.dtype()))
        return conv2d(x, weight * tap_mask(k, mask_type, weight), {}, same_padding(k));
    return face_forward(x, weight, s);
}

Tensor masked_conv2d_backward_input(const Tensor& grad_y, const Tensor& weight, char mask_type) {
    const char* op = "masked_conv2d_backward_input";
    check_floating(op, grad_y);
    check_same_kind(op, grad_y, weight);
    check_weight(op, weight);
    MG_CHECK(grad_y.dim() == 4 && grad_y.size(1) == weight.size(0),
             "{}: grad_y {} does not match weight {} (grad_y [N, {}, H, W])", op, grad_y.shape(), weight.shape(),
             weight.size(0));
    const int64_t k = weight.size(2);
    K::MaskedConv2dShape s =
        make_shape(op, grad_y.size(0), weight.size(1), grad_y.size(2), grad_y.size(3), weight.size(0), k, mask_type);
    if (!K::masked_conv2d_backward_input_table().has_kernel(grad_y.device(), grad_y.dtype()))
        return conv_transpose2d(grad_y, weight * tap_mask(k, mask_type, weight), {}, same_padding(k));
    return face_backward_input(grad_y, weight, s);
}

Tensor masked_conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, int64_t kernel_size, char mask_type) {
    const char* op = "masked_conv2d_backward_weight";
    check_floating(op, x);
    check_same_kind(op, x, grad_y);
    MG_CHECK(x.dim() == 4 && grad_y.dim() == 4 && x.size(0) == grad_y.size(0) && x.size(2) == grad_y.size(2) &&
                 x.size(3) == grad_y.size(3),
             "{}: input {} and grad_y {} must be [N, C, H, W] of the same N, H, W", op, x.shape(), grad_y.shape());
    K::MaskedConv2dShape s =
        make_shape(op, x.size(0), x.size(1), x.size(2), x.size(3), grad_y.size(1), kernel_size, mask_type);
    if (!K::masked_conv2d_backward_weight_table().has_kernel(x.device(), x.dtype())) {
        Tensor mask = tap_mask(kernel_size, mask_type, x);
        return conv2d_backward_weight(x, grad_y, Shape{s.c_out, s.c_in, s.k, s.k}, same_padding(s.k)) * mask;
    }
    return face_backward_weight(x, grad_y, s);
}

}  // namespace mg
