// The arguments of the optimizer update kernels (kernels/optim.h), plain for nvcc.
#pragma once

#include <cstdint>

namespace mg::kernels {

// Hyperparameters of one Adam/AdamW step. The kernel derives the bias corrections
// from `step` (the number of this step, counting from 1) exactly as torch.optim.Adam:
//   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step, step_size = lr / bc1.
struct AdamHyper {
    double lr = 1e-3;
    double beta1 = 0.9, beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool decoupled = false;  // AdamW: decay the parameter, not the gradient
    int64_t step = 1;
};

// The tensors of one multi-tensor update: `count` entries in host arrays, each pointer in
// the table's device memory (host pointers for the CPU, device pointers for CUDA). Entry k
// is one adam_update call's arguments; max_exp_avg_sq may be nullptr (plain Adam for all),
// and so may any of its entries (plain Adam for that tensor).
struct AdamTensorList {
    int64_t count = 0;
    void* const* params = nullptr;
    const void* const* grads = nullptr;
    void* const* exp_avg = nullptr;
    void* const* exp_avg_sq = nullptr;
    void* const* max_exp_avg_sq = nullptr;
    const int64_t* numels = nullptr;
};

}  // namespace mg::kernels
