// check_conv2d_shape (kernels/conv.h): the one shape check of every conv2d variant.
#include "kernels/conv.h"

namespace mg::kernels {

namespace {

// Output size of one spatial dimension: (in + 2*pad - dil*(k-1) - 1) / stride + 1, or 0
// when the dilated kernel does not fit even once.
int64_t conv_output_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

}  // namespace

void check_conv2d_shape(std::string_view op, const Conv2dShape& s) {
    MG_CHECK(s.n >= 0 && s.c_in >= 0 && s.h >= 0 && s.w >= 0 && s.c_out >= 0,
             "{}: negative size in input [{}, {}, {}, {}] or c_out {}", op, s.n, s.c_in, s.h, s.w, s.c_out);
    MG_CHECK(s.kh >= 1 && s.kw >= 1, "{}: kernel {}x{} must be at least 1x1", op, s.kh, s.kw);
    MG_CHECK(s.stride_h >= 1 && s.stride_w >= 1 && s.dil_h >= 1 && s.dil_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
             "{}: stride ({}, {}) and dilation ({}, {}) must be >= 1, padding ({}, {}) >= 0", op, s.stride_h,
             s.stride_w, s.dil_h, s.dil_w, s.pad_h, s.pad_w);
    MG_CHECK(s.groups >= 1 && s.c_in % s.groups == 0 && s.c_out % s.groups == 0,
             "{}: groups {} must divide c_in {} and c_out {}", op, s.groups, s.c_in, s.c_out);
    const int64_t oh = conv_output_size(s.h, s.kh, s.stride_h, s.pad_h, s.dil_h);
    const int64_t ow = conv_output_size(s.w, s.kw, s.stride_w, s.pad_w, s.dil_w);
    MG_CHECK(s.oh == oh && s.ow == ow, "{}: output {}x{} does not match input {}x{}, kernel {}x{}: expected {}x{}",
             op, s.oh, s.ow, s.h, s.w, s.kh, s.kw, oh, ow);
}

}  // namespace mg::kernels
