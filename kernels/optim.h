// Optimizer update kernels: one fused pass over a parameter and its state.
//
// A fused update reads each element of param, grad and the moment buffers once and
// writes them once, instead of the ~10 full passes (and temporaries) that the same
// update costs as separate tensor ops: for the small models the optimizer step is
// otherwise a visible share of a training step.
#pragma once

#include "kernels/args/optim.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

// One Adam/AdamW step over n elements, in place. All arrays dense, of the table's
// dtype (float32 or float64), n elements each:
//   param, exp_avg, exp_avg_sq   read and written
//   grad                         read
//   max_exp_avg_sq               AMSGrad's running max of exp_avg_sq; nullptr = plain Adam
// Per element, in the order torch.optim.Adam applies it (arithmetic in the dtype):
//   AdamW: p *= 1 - lr*wd           Adam: g += wd * p
//   m = beta1*m + (1-beta1)*g        v = beta2*v + (1-beta2)*g*g
//   v_hat = amsgrad ? (vmax = max(vmax, v)) : v
//   p -= step_size * m / (sqrt(v_hat) / sqrt(bc2) + eps)
using AdamUpdateFn = void(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq,
                          int64_t n, const AdamHyper& h);
template <> struct KernelCost<AdamUpdateFn> {
    static Cost of(DType t, void*, const void*, void*, void*, void* vmax, int64_t n, const AdamHyper& h) {
        return adam_cost(n, t, h, vmax != nullptr);
    }
};
MG_KERNEL_TABLE(adam_update, AdamUpdateFn)

// One Adam/AdamW step (one AdamHyper, so one step count) over every tensor of the list,
// each element exactly as adam_update computes it. On the GPU this is one kernel launch for
// a whole parameter group instead of one per parameter.
//   "reference" (CPU): the active CPU adam_update, tensor after tensor.
//   "cuda":            kernels/cuda/adam.cu.
using AdamUpdateMultiFn = void(const AdamTensorList& list, const AdamHyper& h);
template <> struct KernelCost<AdamUpdateMultiFn> {
    static Cost of(DType t, const AdamTensorList& list, const AdamHyper& h) { return adam_multi_cost(list, t, h); }
};
MG_KERNEL_TABLE(adam_update_multi, AdamUpdateMultiFn)

}  // namespace mg::kernels
