// The shape of the 2-D convolution kernels (kernels/conv.h), plain for nvcc.
// NCHW, weight [C_out, C_in/groups, KH, KW];
//   OH = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1 (check_conv2d_shape checks it).
#pragma once

#include <cstdint>

namespace mg::kernels {

struct Conv2dShape {
    int64_t n = 0, c_in = 0, h = 0, w = 0;
    int64_t c_out = 0, kh = 0, kw = 0;
    int64_t oh = 0, ow = 0;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    int64_t groups = 1;
};

}  // namespace mg::kernels
