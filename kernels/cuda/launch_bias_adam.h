// The seam (see launch.h) of two small kernel families: the fused bias + leaky_relu
// (kernels/bias_act.h; bias_act.cu) and the fused Adam/AdamW update (kernels/optim.h;
// adam.cu). register_bias_adam.cpp copies the real argument structs into these plain ones.
// Every launch runs on current_stream(), checks the launch, and throws mg::Error naming the
// op on failure. All pointers are device pointers unless a comment says otherwise.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- bias + leaky_relu (kernels/bias_act.h) ---------------------------------------------

// A copy of mg::kernels::BiasActShape: dense [outer, channels, inner], slope >= 0.
struct BiasActDesc {
    int64_t outer = 0, channels = 0, inner = 1;
    double slope = 0.0;
};

void launch_bias_act_forward(ScalarType t, const BiasActDesc& s, const void* y, const void* bias, void* out);
// gbias may be nullptr (then only gy is written); otherwise it gets `channels` sums, zeros
// when outer * inner == 0.
void launch_bias_act_backward(ScalarType t, const BiasActDesc& s, const void* out, const void* g, void* gy,
                              void* gbias);

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

// The step's scalars from kernels/optim.h's AdamHyper fields: the expressions of AdamScalars in
// kernels/cpu/adam.cpp, so that rounding them to the dtype gives the CPU's values bit for bit.
inline AdamStepDesc adam_step_desc(double lr, double beta1, double beta2, double eps, double weight_decay,
                                   bool decoupled, int64_t step) {
    AdamStepDesc d;
    d.decay = weight_decay == 0.0 ? AdamDecay::None : decoupled ? AdamDecay::Decoupled : AdamDecay::Coupled;
    d.decay_factor = 1.0 - lr * weight_decay;
    d.weight_decay = weight_decay;
    d.beta1 = beta1;
    d.one_minus_beta1 = 1.0 - beta1;
    d.beta2 = beta2;
    d.one_minus_beta2 = 1.0 - beta2;
    d.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, double(step)));
    d.eps = eps;
    d.neg_step_size = -lr / (1.0 - std::pow(beta1, double(step)));
    return d;
}

// One tensor: max_exp_avg_sq nullptr = plain Adam, else AMSGrad.
void launch_adam_update(ScalarType t, const AdamStepDesc& s, void* param, const void* grad, void* exp_avg,
                        void* exp_avg_sq, void* max_exp_avg_sq, int64_t n);

// A copy of mg::kernels::AdamTensorList: host arrays of `count` device pointers (and sizes).
// max_exp_avg_sq may be nullptr, and so may any of its entries: plain Adam for that tensor.
struct AdamTensorListDesc {
    int64_t count = 0;
    void* const* params = nullptr;
    const void* const* grads = nullptr;
    void* const* exp_avg = nullptr;
    void* const* exp_avg_sq = nullptr;
    void* const* max_exp_avg_sq = nullptr;
    const int64_t* numels = nullptr;
};

// Every tensor of the list in one kernel launch (adam.cu explains the layout).
void launch_adam_update_multi(ScalarType t, const AdamStepDesc& s, const AdamTensorListDesc& list);

}  // namespace mg::kernels::cuda
