// Batch normalisation, fused: statistics, normalisation, affine and the running-average
// update in one kernel; the three gradients in another.
//
// x is dense [n, c, hw] (NCHW with hw = H*W; [N, C] is hw = 1). Per channel, over its
// M = n*hw values:
//   training:  mean, var = biased variance (one pass, shifted sums in double: see below),
//              invstd = 1 / sqrt(var + eps);
//              running_mean = (1-m) running_mean + m mean, running_var = (1-m) running_var
//              + m var * M/(M-1)  (PyTorch's momentum; unbiased variance), when given
//   eval:      mean = running_mean, invstd = 1 / sqrt(running_var + eps)
//   y = (x - mean) * invstd * weight + bias      (weight 1 and bias 0 when null)
// Backward (training statistics), with xhat = (x - mean) * invstd:
//   grad_bias = sum g,   grad_weight = sum g xhat,
//   grad_x = weight * invstd * (g - sum g / M - xhat * sum(g xhat) / M)
// The one-pass statistics sum d = x - K and d^2 with K the channel's first value, in
// double: exact enough for float32 data and for float64 data whose mean is not many
// standard deviations from its first value.
#pragma once

#include "kernels/args/batch_norm.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

using BatchNormForwardFn = void(const BatchNormForwardArgs& a);
using BatchNormBackwardFn = void(const BatchNormBackwardArgs& a);

template <> struct KernelCost<BatchNormForwardFn> {
    static Cost of(DType t, const BatchNormForwardArgs& a) { return batch_norm_forward_cost(a, t); }
};
template <> struct KernelCost<BatchNormBackwardFn> {
    static Cost of(DType t, const BatchNormBackwardArgs& a) { return batch_norm_backward_cost(a, t); }
};
MG_KERNEL_TABLE(batch_norm_forward, BatchNormForwardFn)
MG_KERNEL_TABLE(batch_norm_backward, BatchNormBackwardFn)

}  // namespace mg::kernels
