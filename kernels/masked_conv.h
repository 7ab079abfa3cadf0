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

#include "kernels/registry.h"

namespace mg::kernels {

struct MaskedConv2dShape {
    int64_t n = 0, c_in = 0, h = 0, w = 0;
    int64_t c_out = 0, k = 0;  // k odd
    char type = 'B';           // 'A' or 'B'
};

// The kept taps' count T and the i-th one's (kh, kw), as listed above.
inline int64_t masked_conv_taps(int64_t k, char type) { return (k / 2) * k + k / 2 + (type == 'B' ? 1 : 0); }
inline void masked_conv_tap(int64_t k, int64_t t, int64_t& kh, int64_t& kw) {
    kh = t / k;
    kw = t % k;  // row c's taps continue the raster order: t = c*k + kw
}

using MaskedConv2dForwardFn = void(const MaskedConv2dShape& s, const void* x, const void* w, void* y);
using MaskedConv2dBackwardInputFn = void(const MaskedConv2dShape& s, const void* gy, const void* w, void* gx);
using MaskedConv2dBackwardWeightFn = void(const MaskedConv2dShape& s, const void* x, const void* gy, void* gw);

MG_KERNEL_TABLE(masked_conv2d_forward, MaskedConv2dForwardFn)
MG_KERNEL_TABLE(masked_conv2d_backward_input, MaskedConv2dBackwardInputFn)
MG_KERNEL_TABLE(masked_conv2d_backward_weight, MaskedConv2dBackwardWeightFn)

// Adds the CPU variants ("reference", "im2col") to the three tables (kernels/register_all.cpp).
void register_cpu_masked_conv();

}  // namespace mg::kernels
