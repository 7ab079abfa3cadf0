// 2-D convolution kernels, NCHW, weight [C_out, C_in/groups, KH, KW], no bias
// (the op layer adds it). The three kernels are the three faces of one bilinear map:
//   forward          y  = conv(x, w)          [N, C_out, OH, OW]
//   backward_input   gx = conv^T(gy, w)       [N, C_in, H, W]   (= conv_transpose2d forward)
//   backward_weight  gw = corr(x, gy)         [C_out, C_in/g, KH, KW]
// Outputs are overwritten. All operands are contiguous.
//   OH = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1 (the op layer checks shapes).
#pragma once

#include "kernels/registry.h"

namespace mg::kernels {

struct Conv2dShape {
    int64_t n = 0, c_in = 0, h = 0, w = 0;
    int64_t c_out = 0, kh = 0, kw = 0;
    int64_t oh = 0, ow = 0;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    int64_t groups = 1;
};

using Conv2dForwardFn = void(const Conv2dShape& s, const void* x, const void* w, void* y);
using Conv2dBackwardInputFn = void(const Conv2dShape& s, const void* gy, const void* w, void* gx);
using Conv2dBackwardWeightFn = void(const Conv2dShape& s, const void* x, const void* gy, void* gw);

MG_KERNEL_TABLE(conv2d_forward, Conv2dForwardFn)
MG_KERNEL_TABLE(conv2d_backward_input, Conv2dBackwardInputFn)
MG_KERNEL_TABLE(conv2d_backward_weight, Conv2dBackwardWeightFn)

}  // namespace mg::kernels
