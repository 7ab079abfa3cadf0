// 2-D pooling kernels, NCHW, contiguous.
//   max_pool2d_forward:  y[n,c,i,j] = max over the window; argmax holds the flat
//                        h*W+w index of the winner inside the (n, c) plane.
//   max_pool2d_backward: gx = 0, then gx[plane][argmax] += gy (the adjoint of a gather)
//   avg_pool2d_*:        PyTorch's count_include_pad=True: divide by KH*KW.
// Padding counts as -inf for max and as 0 for avg.
#pragma once

#include "kernels/args/pool.h"
#include "kernels/registry.h"

namespace mg::kernels {

using MaxPool2dForwardFn = void(const Pool2dShape& s, const void* x, void* y, int64_t* argmax);
using MaxPool2dBackwardFn = void(const Pool2dShape& s, const void* gy, const int64_t* argmax, void* gx);
using AvgPool2dForwardFn = void(const Pool2dShape& s, const void* x, void* y);
using AvgPool2dBackwardFn = void(const Pool2dShape& s, const void* gy, void* gx);

MG_KERNEL_TABLE(max_pool2d_forward, MaxPool2dForwardFn)
MG_KERNEL_TABLE(max_pool2d_backward, MaxPool2dBackwardFn)
MG_KERNEL_TABLE(avg_pool2d_forward, AvgPool2dForwardFn)
MG_KERNEL_TABLE(avg_pool2d_backward, AvgPool2dBackwardFn)

}  // namespace mg::kernels
