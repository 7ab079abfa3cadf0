// PixelCNN's causal masked convolution, computed on the taps its mask keeps.
//
// An odd k x k kernel, stride 1, padding k/2 (the output keeps the input's size), no
// groups, no bias. With c = k/2, the kept taps (kh, kw) are, in raster order,
//   rows 0 .. c-1, every column                      (the rows above the centre)
//   row c, columns 0 .. c-1 (type 'A'), 0 .. c ('B')  (left of the centre, and the centre for B)
// T = c*k + c (+1 for B) of the k*k taps: 24 (A) or 25 (B) of 49 for 7x7. The kernels
// compute conv2d(x, w * mask) without touching the other taps:
//   forward          y  [N, C_out, H, W] = conv(x, w*mask)
//   backward_input   gx [N, C_in, H, W]  = conv^T(gy, w*mask)
//   backward_weight  gw [C_out, C_in, k, k] = corr(x, gy) on the kept taps, 0 on the others
// w is the full [C_out, C_in, k, k] weight; its hidden taps are never read. Outputs are
// overwritten. All operands are contiguous.
#pragma once

#include "kernels/args/masked_conv.h"
#include "kernels/registry.h"

namespace mg::kernels {

// As conv2d's (kernels/conv.h), the three kernels share one signature: forward (x, w) -> y,
// backward_input (gy, w) -> gx, backward_weight (x, gy) -> gw.
using MaskedConv2dFn = void(const MaskedConv2dShape& s, const void* a, const void* b, void* out);
MG_KERNEL_TABLE(masked_conv2d_forward, MaskedConv2dFn)
MG_KERNEL_TABLE(masked_conv2d_backward_input, MaskedConv2dFn)
MG_KERNEL_TABLE(masked_conv2d_backward_weight, MaskedConv2dFn)

// Adds the CPU variants ("reference", "im2col") to the three tables (kernels/register_all.cpp).
void register_cpu_masked_conv();

}  // namespace mg::kernels
