// The work of one kernel call, computed from its arguments: the cost models that the
// benchmarks (tools/bench_kernels.cpp) and the step profiler (kernels/profile.h) share.
// Each table's header hands its calls to these through KernelCost<Fn> (kernels/registry.h).
//
// flop counts floating-point operations as the formula of kernels/<op>.h writes them (an
// FMA is 2; exp, sqrt and a comparison are 1 each). bytes counts each operand read once and
// each output written once, at the table's dtype: the least traffic the call can cause
// (broadcast operands are counted in full).
#pragma once

#include <cstdint>

#include "kernels/args/batch_norm.h"
#include "kernels/args/bias_act.h"
#include "kernels/args/conv.h"
#include "kernels/args/elementwise.h"
#include "kernels/args/gemm.h"
#include "kernels/args/optim.h"
#include "kernels/args/reduce.h"
#include "kernels/args/softmax.h"
#include "kernels/profile.h"

namespace mg::kernels {

// C [m, n] (+)= A [m, k] · B [k, n], `batch` times: 2mnk flop; A, B and C (read too when beta != 0).
Cost gemm_cost(const GemmArgs& g, DType t);
// Any of the three faces: 2 * N * C_out * OH * OW * (C_in / groups) * KH * KW flop; x, w, y once.
Cost conv2d_cost(const Conv2dShape& s, DType t);
// Batch norm forward (training): shifted sums (3) and normalisation (3) per element; 3 passes (x twice, y).
// Backward: xhat (2), the two sums (3), grad_x (5); 5 passes (x and grad_y twice, grad_x).
Cost batch_norm_forward_cost(const BatchNormForwardArgs& a, DType t);
Cost batch_norm_backward_cost(const BatchNormBackwardArgs& a, DType t);
// Elementwise: one operation per output element; `operands` arrays of numel elements.
Cost elementwise_cost(const Iter& it, DType t, int operands);
// Reductions: one operation per input element; the input read and the output written.
Cost reduce_cost(const ReduceArgs& r, DType t);
// Softmax forward: max, subtract, exp, sum, and the output's subtract or exp (5 per element),
// x read, y written; backward: the row's dot product (2) and the gradient (2 or 3), y and gy
// read, gx written. Cross-entropy forward: max, subtract, exp, sum (4), x read; backward:
// exp(x - lse), subtract one-hot, scale (4), x read, gx written.
Cost softmax_forward_cost(const SoftmaxShape& s, DType t, bool log);
Cost softmax_backward_cost(const SoftmaxShape& s, DType t, bool log);
Cost cross_entropy_forward_cost(const SoftmaxShape& s, DType t);
Cost cross_entropy_backward_cost(const SoftmaxShape& s, DType t);
// bias + leaky_relu: forward add and select (2 per element), y read and out written; backward
// select (1) and the bias gradient's sum (1), out and g read, gy written.
Cost bias_act_forward_cost(const BiasActShape& s, DType t);
Cost bias_act_backward_cost(const BiasActShape& s, DType t);
// Adam (kernels/cpu/adam.cpp's adam_element): 13 operations per element, +2 with Adam's weight
// decay, +1 with AdamW's, +1 with AMSGrad's max; param, grad, m, v read and param, m, v written (vmax read and written).
Cost adam_cost(int64_t n, DType t, const AdamHyper& h, bool amsgrad);
Cost adam_multi_cost(const AdamTensorList& list, DType t, const AdamHyper& h);

}  // namespace mg::kernels
