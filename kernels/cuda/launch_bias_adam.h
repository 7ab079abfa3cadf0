// The seam (see launch.h) of two small kernel families: the fused bias + leaky_relu
// (kernels/bias_act.h; bias_act.cu) and the fused Adam/AdamW update (kernels/optim.h;
// adam.cu), on the plain argument structs of kernels/args/bias_act.h and kernels/args/optim.h.
// Every launch runs on current_stream(), checks the launch, and throws mg::Error naming the
// op on failure. All pointers are device pointers unless a comment says otherwise.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/args/bias_act.h"
#include "kernels/args/optim.h"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- bias + leaky_relu (kernels/bias_act.h) ---------------------------------------------

void launch_bias_act_forward(DType t, const BiasActShape& s, const void* y, const void* bias, void* out);
// gbias may be nullptr (then only gy is written); otherwise it gets `channels` sums, zeros
// when outer * inner == 0.
void launch_bias_act_backward(DType t, const BiasActShape& s, const void* out, const void* g, void* gy, void* gbias);

// ---- Adam / AdamW (kernels/optim.h) -------------------------------------------------------

// How weight decay enters: not at all, into the gradient (Adam), or on the parameter (AdamW).
enum class AdamDecay : uint8_t { None, Coupled, Decoupled };

// The scalars of one step, computed on the host in double exactly as kernels/cpu/adam.cpp's
// AdamScalars computes them; the launch rounds each to the dtype once, as the CPU does.
struct AdamStepDesc {
    AdamDecay decay = AdamDecay::None;
    double decay_factor = 1.0;           // AdamW: 1 - lr*wd
    double weight_decay = 0.0;           // Adam: added to the gradient as wd * p
    double beta1 = 0.9, one_minus_beta1 = 0.1;
    double beta2 = 0.999, one_minus_beta2 = 0.001;
    double bias_correction2_sqrt = 1.0;  // sqrt(1 - beta2^step)
    double eps = 1e-8;
    double neg_step_size = 0.0;          // -lr / (1 - beta1^step)
};

// The step's scalars from AdamHyper: the expressions of AdamScalars in kernels/cpu/adam.cpp,
// so that rounding them to the dtype gives the CPU's values bit for bit.
inline AdamStepDesc adam_step_desc(const AdamHyper& h) {
    AdamStepDesc d;
    d.decay = h.weight_decay == 0.0 ? AdamDecay::None : h.decoupled ? AdamDecay::Decoupled : AdamDecay::Coupled;
    d.decay_factor = 1.0 - h.lr * h.weight_decay;
    d.weight_decay = h.weight_decay;
    d.beta1 = h.beta1;
    d.one_minus_beta1 = 1.0 - h.beta1;
    d.beta2 = h.beta2;
    d.one_minus_beta2 = 1.0 - h.beta2;
    d.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(h.beta2, double(h.step)));
    d.eps = h.eps;
    d.neg_step_size = -h.lr / (1.0 - std::pow(h.beta1, double(h.step)));
    return d;
}

// One tensor: max_exp_avg_sq nullptr = plain Adam, else AMSGrad.
void launch_adam_update(DType t, const AdamStepDesc& s, void* param, const void* grad, void* exp_avg,
                        void* exp_avg_sq, void* max_exp_avg_sq, int64_t n);

// `list` holds host arrays of `count` device pointers (and sizes); max_exp_avg_sq may be
// nullptr, and so may any of its entries: plain Adam for that tensor.
// Every tensor of the list in one kernel launch (adam.cu explains the layout).
void launch_adam_update_multi(DType t, const AdamStepDesc& s, const AdamTensorList& list);

}  // namespace mg::kernels::cuda
