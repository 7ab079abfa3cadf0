// ---- batch norm + activation, fused (core/ops/norm.cpp) ---------------------------------------
// Included by core/ops.h; part of the functional API.
#pragma once

#include "core/tensor.h"
#include "kernels/args/batch_norm.h"

namespace mg {

// None, Relu, or LeakyRelu with its slope (>= 0): BatchNormActivation{LeakyRelu, 0.2}.
using BatchNormActivation = kernels::BatchNormActivation;

// act(batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)), the
// same numbers and the same running-statistic update, as one node: on the CPU one kernel each
// way (kernels/batch_norm.h), whose backward applies the activation's mask and batch norm's
// backward in the same passes; under create_graph the gradient is written with differentiable
// ops. Where no kernel serves (another device; eval mode with gradients), the two ops composed.
Tensor batch_norm_act(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum, double eps, BatchNormActivation act);

// act(y): relu, leaky_relu with act's slope, or y itself (None). For batch norms computed
// elsewhere (SyncBatchNorm's statistics over ranks) that still end in their activation.
Tensor batch_norm_activation(const Tensor& y, BatchNormActivation act);

// The same value as batch_norm followed by relu / leaky_relu: what the fused op is checked
// against, and what it runs where no kernel is registered.
Tensor batch_norm_act_composed(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                               const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps,
                               BatchNormActivation act);

}  // namespace mg
