// Convolutions. conv2d(x, w) is bilinear, and its three kernels (forward,
// backward_input, backward_weight) are its three faces, so each op's backward is
// another of the three ops, differentiable again:
//
//   y  = conv2d(x, w)                   dx = conv_transpose2d(gy, w)   dw = conv2d_backward_weight(x, gy)
//   z  = conv_transpose2d(y, w)         dy = conv2d(gz, w)             dw = conv2d_backward_weight(gz, y)
//   gw = conv2d_backward_weight(x, gy)  dx = conv_transpose2d(gy, ggw) d(gy) = conv2d(x, ggw)
//
// Bias is a broadcast add, differentiated as one.
#include "core/ops/dispatch.h"
#include "kernels/conv.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

namespace {

// Fills the kernel's shape for conv2d(x [N,C,H,W], w [Co, C/g, KH, KW]); checks everything.
K::Conv2dShape conv_shape(const char* op, const Shape& x, const Shape& w, const Conv2dOptions& o) {
    MG_CHECK(x.size() == 4, "{}: input must be [N, C, H, W], got {}", op, x);
    MG_CHECK(w.size() == 4, "{}: weight must be 4-D, got {}", op, w);
    MG_CHECK(o.groups >= 1, "{}: groups must be >= 1, got {}", op, o.groups);
    MG_CHECK(o.stride.h >= 1 && o.stride.w >= 1, "{}: stride must be >= 1, got ({}, {})", op, o.stride.h, o.stride.w);
    MG_CHECK(o.dilation.h >= 1 && o.dilation.w >= 1, "{}: dilation must be >= 1", op);
    MG_CHECK(o.padding.h >= 0 && o.padding.w >= 0, "{}: padding must be >= 0", op);
    K::Conv2dShape s;
    s.n = x[0], s.c_in = x[1], s.h = x[2], s.w = x[3];
    s.c_out = w[0], s.kh = w[2], s.kw = w[3];
    s.stride_h = o.stride.h, s.stride_w = o.stride.w;
    s.pad_h = o.padding.h, s.pad_w = o.padding.w;
    s.dil_h = o.dilation.h, s.dil_w = o.dilation.w;
    s.groups = o.groups;
    MG_CHECK(s.c_in % s.groups == 0 && s.c_out % s.groups == 0,
             "{}: channels in {} and out {} must both divide by groups {}", op, s.c_in, s.c_out, s.groups);
    MG_CHECK(w[1] * s.groups == s.c_in, "{}: input {} has {} channels, weight {} expects {} (groups {})", op, x,
             s.c_in, w, w[1] * s.groups, s.groups);
    int64_t eff_h = s.dil_h * (s.kh - 1) + 1, eff_w = s.dil_w * (s.kw - 1) + 1;
    MG_CHECK(s.h + 2 * s.pad_h >= eff_h && s.w + 2 * s.pad_w >= eff_w,
             "{}: kernel {}x{} (dilated {}x{}) is larger than the padded input {}x{} of {}", op, s.kh, s.kw, eff_h,
             eff_w, s.h + 2 * s.pad_h, s.w + 2 * s.pad_w, x);
    s.oh = (s.h + 2 * s.pad_h - eff_h) / s.stride_h + 1;
    s.ow = (s.w + 2 * s.pad_w - eff_w) / s.stride_w + 1;
    return s;
}

Tensor add_bias(const Tensor& y, const Tensor& bias, int64_t channels, const char* op) {
    if (!bias.defined()) return y;
    MG_CHECK(bias.dim() == 1 && bias.shape()[0] == channels, "{}: bias {} does not match {} output channels", op,
             bias.shape(), channels);
    return y + bias.view(Shape{1, channels, 1, 1});
}

// The three faces as differentiable ops over a fixed Conv2dShape.
Tensor face_forward(const Tensor& x, const Tensor& w, const K::Conv2dShape& s, const Conv2dOptions& o);
Tensor face_backward_input(const Tensor& gy, const Tensor& w, const K::Conv2dShape& s, const Conv2dOptions& o);
Tensor face_backward_weight(const Tensor& x, const Tensor& gy, const K::Conv2dShape& s, const Conv2dOptions& o);

Tensor face_forward(const Tensor& x, const Tensor& w, const K::Conv2dShape& s, const Conv2dOptions& o) {
    Tensor y = run_bilinear_kernel(K::conv2d_forward_table(), s, Shape{s.n, s.c_out, s.oh, s.ow}, x, w);
    autograd::check_forward_anomaly("conv2d", y);
    return autograd::record("conv2d", y, {x, w}, [s, o](const Tensor& gy, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_backward_input(gy, saved.input(1), s, o) : Tensor(),
                     saved.needs_grad(1) ? face_backward_weight(saved.input(0), gy, s, o) : Tensor()};
    });
}

Tensor face_backward_input(const Tensor& gy, const Tensor& w, const K::Conv2dShape& s, const Conv2dOptions& o) {
    Tensor gx = run_bilinear_kernel(K::conv2d_backward_input_table(), s, Shape{s.n, s.c_in, s.h, s.w}, gy, w);
    autograd::check_forward_anomaly("conv_transpose2d", gx);
    return autograd::record("conv_transpose2d", gx, {gy, w}, [s, o](const Tensor& g, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_forward(g, saved.input(1), s, o) : Tensor(),
                     saved.needs_grad(1) ? face_backward_weight(g, saved.input(0), s, o) : Tensor()};
    });
}

Tensor face_backward_weight(const Tensor& x, const Tensor& gy, const K::Conv2dShape& s, const Conv2dOptions& o) {
    Tensor gw = run_bilinear_kernel(K::conv2d_backward_weight_table(), s,
                                    Shape{s.c_out, s.c_in / s.groups, s.kh, s.kw}, x, gy);
    autograd::check_forward_anomaly("conv2d_backward_weight", gw);
    return autograd::record("conv2d_backward_weight", gw, {x, gy}, [s, o](const Tensor& g, const Saved& saved) {
        return Grads{saved.needs_grad(0) ? face_backward_input(saved.input(1), g, s, o) : Tensor(),
                     saved.needs_grad(1) ? face_forward(saved.input(0), g, s, o) : Tensor()};
    });
}

void check_conv_args(const char* op, const Tensor& x, const Tensor& w) {
    check_floating(op, x);
    check_defined(op, w, "weight");
    check_same_kind(op, x, w);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
    check_conv_args("conv2d", x, weight);
    K::Conv2dShape s = conv_shape("conv2d", x.shape(), weight.shape(), opt);
    return add_bias(face_forward(x, weight, s, opt), bias, s.c_out, "conv2d");
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
    check_conv_args("conv_transpose2d", x, weight);
    MG_CHECK(x.dim() == 4, "conv_transpose2d: input must be [N, C, H, W], got {}", x.shape());
    MG_CHECK(weight.dim() == 4, "conv_transpose2d: weight must be [C_in, C_out/groups, KH, KW], got {}",
             weight.shape());
    MG_CHECK(x.shape()[1] == weight.shape()[0], "conv_transpose2d: input {} has {} channels, weight {} expects {}",
             x.shape(), x.shape()[1], weight.shape(), weight.shape()[0]);
    MG_CHECK(opt.output_padding.h >= 0 && opt.output_padding.h < std::max(opt.stride.h, opt.dilation.h) &&
                 opt.output_padding.w >= 0 && opt.output_padding.w < std::max(opt.stride.w, opt.dilation.w),
             "conv_transpose2d: output_padding ({}, {}) must be smaller than stride or dilation",
             opt.output_padding.h, opt.output_padding.w);
    // conv_transpose2d(x, w) is conv2d's input gradient, for the conv2d that maps the
    // (larger) output back to x. Its weight [C_in_t, C_out_t/g, KH, KW] is exactly that
    // conv2d's weight [C_out_c, C_in_c/g, KH, KW].
    int64_t n = x.shape()[0], h = x.shape()[2], w = x.shape()[3];
    int64_t kh = weight.shape()[2], kw = weight.shape()[3];
    int64_t oh = (h - 1) * opt.stride.h - 2 * opt.padding.h + opt.dilation.h * (kh - 1) + opt.output_padding.h + 1;
    int64_t ow = (w - 1) * opt.stride.w - 2 * opt.padding.w + opt.dilation.w * (kw - 1) + opt.output_padding.w + 1;
    MG_CHECK(oh > 0 && ow > 0, "conv_transpose2d: output size {}x{} is not positive for input {}", oh, ow, x.shape());
    int64_t c_out = weight.shape()[1] * opt.groups;
    K::Conv2dShape s = conv_shape("conv_transpose2d", Shape{n, c_out, oh, ow}, weight.shape(), opt);
    MG_CHECK(s.oh == h && s.ow == w, "conv_transpose2d: inconsistent geometry for input {}", x.shape());
    return add_bias(face_backward_input(x, weight, s, opt), bias, c_out, "conv_transpose2d");
}

Tensor conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, const Shape& weight_shape,
                              const Conv2dOptions& opt) {
    check_conv_args("conv2d_backward_weight", x, grad_y);
    K::Conv2dShape s = conv_shape("conv2d_backward_weight", x.shape(), weight_shape, opt);
    MG_CHECK(grad_y.shape() == Shape({s.n, s.c_out, s.oh, s.ow}),
             "conv2d_backward_weight: grad_y {} does not match the conv output [{}, {}, {}, {}]", grad_y.shape(), s.n,
             s.c_out, s.oh, s.ow);
    return face_backward_weight(x, grad_y, s, opt);
}

}  // namespace mg
