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
//
// Batch norm + activation (batch_norm_act_*, kernels/args/batch_norm.h's BatchNormActivation):
// the same kernels with the activation applied to y as it is written (the numbers of
// batch_norm followed by relu / leaky_relu, bit for bit), and in the backward the activation's
// mask g' = y > 0 ? g : slope g applied as g is read, in both passes over the channel (the
// numbers of leaky_relu's backward followed by batch_norm's). One read and one write of the
// activation fewer each way than the two ops.
#pragma once

#include "kernels/args/batch_norm.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

using BatchNormForwardFn = void(const BatchNormForwardArgs& a);
using BatchNormBackwardFn = void(const BatchNormBackwardArgs& a);
using BatchNormActForwardFn = void(const BatchNormActForwardArgs& a);
using BatchNormActBackwardFn = void(const BatchNormActBackwardArgs& a);

template <> struct KernelCost<BatchNormForwardFn> {
    static Cost of(DType t, const BatchNormForwardArgs& a) { return batch_norm_forward_cost(a, t); }
};
template <> struct KernelCost<BatchNormBackwardFn> {
    static Cost of(DType t, const BatchNormBackwardArgs& a) { return batch_norm_backward_cost(a, t); }
};
// Batch norm + activation: batch norm's cost, one operation more per element (the select),
// and in the backward the output read in each of the two passes.
template <> struct KernelCost<BatchNormActForwardFn> {
    static Cost of(DType t, const BatchNormActForwardArgs& a) {
        Cost c = batch_norm_forward_cost(a.bn, t);
        c.flop += double(a.bn.shape.n * a.bn.shape.c * a.bn.shape.hw);
        return c;
    }
};
template <> struct KernelCost<BatchNormActBackwardFn> {
    static Cost of(DType t, const BatchNormActBackwardArgs& a) {
        Cost c = batch_norm_backward_cost(a.bn, t);
        const double n = double(a.bn.shape.n * a.bn.shape.c * a.bn.shape.hw);
        c.flop += n;
        if (a.act.kind != BatchNormActivation::None) c.bytes += 2.0 * n * double(dtype_size(t));
        return c;
    }
};
MG_KERNEL_TABLE(batch_norm_forward, BatchNormForwardFn)
MG_KERNEL_TABLE(batch_norm_backward, BatchNormBackwardFn)
MG_KERNEL_TABLE(batch_norm_act_forward, BatchNormActForwardFn)
MG_KERNEL_TABLE(batch_norm_act_backward, BatchNormActBackwardFn)

}  // namespace mg::kernels
