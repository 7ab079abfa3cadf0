// 2-D convolution kernels, NCHW, weight [C_out, C_in/groups, KH, KW], no bias
// (the op layer adds it). The three kernels are the three faces of one bilinear map:
//   forward          y  = conv(x, w)          [N, C_out, OH, OW]
//   backward_input   gx = conv^T(gy, w)       [N, C_in, H, W]   (= conv_transpose2d forward)
//   backward_weight  gw = corr(x, gy)         [C_out, C_in/g, KH, KW]
// Outputs are overwritten. All operands are contiguous.
//   OH = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1.
#pragma once

#include "kernels/args/conv.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

// The three kernels share one signature: the two inputs in the order above, then the output:
// forward (x, w) -> y, backward_input (gy, w) -> gx, backward_weight (x, gy) -> gw.
using Conv2dFn = void(const Conv2dShape& s, const void* a, const void* b, void* out);
// The three faces do the same multiply-adds over the same three arrays.
template <> struct KernelCost<Conv2dFn> {
    static Cost of(DType t, const Conv2dShape& s, const void*, const void*, void*) { return conv2d_cost(s, t); }
};
MG_KERNEL_TABLE(conv2d_forward, Conv2dFn)
MG_KERNEL_TABLE(conv2d_backward_input, Conv2dFn)
MG_KERNEL_TABLE(conv2d_backward_weight, Conv2dFn)

// Throws mg::Error naming `op` unless s is consistent (sizes >= 0, kernel, stride and
// dilation >= 1, groups dividing the channels, OH/OW as above): every conv2d variant, CPU
// and CUDA, checks first, so an inconsistent shape never becomes an out-of-bounds access.
// The op layer validates user input; this guards the kernels' own callers.
void check_conv2d_shape(std::string_view op, const Conv2dShape& s);

}  // namespace mg::kernels
