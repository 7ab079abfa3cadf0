#include "core/nn/conv.h"

#include <algorithm>
#include <vector>

#include "core/nn/format.h"
#include "core/nn/init.h"

namespace mg::nn {

using fmt_detail::py_tuple;

namespace {

bool is(const Pair& p, int64_t v) { return p.h == v && p.w == v; }

void check_pair(const char* op, const char* what, const Pair& p, int64_t min) {
    MG_CHECK(p.h >= min && p.w >= min, "{}: {} must be at least {}, got ({}, {})", op, what, min, p.h, p.w);
}

}  // namespace

ConvBase::ConvBase(const char* op, int64_t in, int64_t out, Pair kernel, const Conv2dOptions& opt, bool with_bias,
                   bool transposed)
    : in_channels(in), out_channels(out), kernel_size(kernel), options(opt) {
    MG_CHECK(in > 0 && out > 0, "{}: channels must be positive, got in_channels={}, out_channels={}", op, in, out);
    MG_CHECK(opt.groups > 0 && in % opt.groups == 0 && out % opt.groups == 0,
             "{}: groups={} must divide in_channels={} and out_channels={}", op, opt.groups, in, out);
    check_pair(op, "kernel_size", kernel, 1);
    check_pair(op, "stride", opt.stride, 1);
    check_pair(op, "padding", opt.padding, 0);
    check_pair(op, "dilation", opt.dilation, 1);
    check_pair(op, "output_padding", opt.output_padding, 0);
    if (transposed)
        MG_CHECK(opt.output_padding.h < std::max(opt.stride.h, opt.dilation.h) &&
                     opt.output_padding.w < std::max(opt.stride.w, opt.dilation.w),
                 "{}: output_padding ({}, {}) must be smaller than either stride or dilation", op,
                 opt.output_padding.h, opt.output_padding.w);
    else
        MG_CHECK(is(opt.output_padding, 0), "{}: output_padding applies to transposed convolutions only", op);

    Shape w = transposed ? Shape{in, out / opt.groups, kernel.h, kernel.w}
                         : Shape{out, in / opt.groups, kernel.h, kernel.w};
    weight = register_parameter("weight", empty(w));
    if (with_bias) bias = register_parameter("bias", empty({out}));
    reset_parameters();
}

void ConvBase::reset_parameters() { init::layer_default_(weight, bias); }

// PyTorch's _ConvNd.extra_repr: stride always, the other options when not default.
std::string ConvBase::extra_repr() const {
    std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", in_channels, out_channels, py_tuple(kernel_size),
                                py_tuple(options.stride));
    if (!is(options.padding, 0)) s += ", padding=" + py_tuple(options.padding);
    if (!is(options.dilation, 1)) s += ", dilation=" + py_tuple(options.dilation);
    if (!is(options.output_padding, 0)) s += ", output_padding=" + py_tuple(options.output_padding);
    if (options.groups != 1) s += fmt::format(", groups={}", options.groups);
    if (!bias.defined()) s += ", bias=False";
    return s;
}

Conv2d::Conv2d(int64_t in, int64_t out, Pair kernel, Pair stride, Pair padding, Pair dilation, int64_t groups,
               bool with_bias)
    : ConvBase("Conv2d", in, out, kernel, Conv2dOptions{stride, padding, dilation, groups, 0}, with_bias, false) {}

Tensor Conv2d::forward(const Tensor& x) {
    if (hook) [[unlikely]]
        if (std::optional<Tensor> y = hook->before_forward(x)) return *y;
    return conv2d(x, weight, bias, options);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Pair kernel, Pair stride, Pair padding,
                                 Pair output_padding, int64_t groups, bool with_bias, Pair dilation)
    : ConvBase("ConvTranspose2d", in, out, kernel, Conv2dOptions{stride, padding, dilation, groups, output_padding},
               with_bias, true) {}

Tensor ConvTranspose2d::forward(const Tensor& x) {
    if (hook) [[unlikely]]
        if (std::optional<Tensor> y = hook->before_forward(x)) return *y;
    return conv_transpose2d(x, weight, bias, options);
}

namespace {

// [out, in, k, k]: 1 where output pixel (centre) may see the input pixel.
Tensor pixelcnn_mask(char type, int64_t out, int64_t in, int64_t k) {
    MG_CHECK(type == 'A' || type == 'B', "MaskedConv2d: mask_type must be 'A' or 'B', got '{}'", type);
    MG_CHECK(k % 2 == 1, "MaskedConv2d: kernel_size must be odd (the mask needs a centre), got {}", k);
    const int64_t c = k / 2;
    std::vector<float> tap(size_t(k * k));
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
            tap[size_t(i * k + j)] = i < c || (i == c && (j < c || (j == c && type == 'B')));
    return from_vector(tap, Shape{1, 1, k, k}).expand({out, in, k, k}).contiguous();
}

}  // namespace

MaskedConv2d::MaskedConv2d(char type, int64_t in, int64_t out, int64_t kernel, int64_t padding, bool with_bias)
    : Conv2d(in, out, kernel, 1, padding, 1, 1, with_bias), mask_type(type) {
    mask = register_buffer("mask", pixelcnn_mask(type, out, in, kernel));
}

Tensor MaskedConv2d::forward(const Tensor& x) { return conv2d(x, weight * mask, bias, options); }

std::string MaskedConv2d::extra_repr() const { return fmt::format("'{}', {}", mask_type, ConvBase::extra_repr()); }

}  // namespace mg::nn
