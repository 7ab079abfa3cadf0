// Registers the CUDA variants of the fused bias + leaky_relu (kernels/bias_act.h) and of the
// fused Adam/AdamW update (kernels/optim.h): register_cuda_bias_act_adam(), called from
// register.cpp. Each entry checks its arguments here (g++, fmt), copies them into the plain
// structs of launch_bias_adam.h and calls the launch in bias_act.cu / adam.cu.
#ifdef MINIGEN_WITH_CUDA
#include <cmath>

#include "kernels/bias_act.h"
#include "kernels/cuda/launch_bias_adam.h"
#include "kernels/optim.h"

namespace mg::kernels::cuda {

namespace {

static_assert(sizeof(BiasActDesc) == sizeof(BiasActShape) && sizeof(AdamTensorListDesc) == sizeof(AdamTensorList),
              "a field added to an argument struct must be copied below too");

constexpr ScalarType scalar(DType t) { return ScalarType(int(t)); }

// ---- bias + leaky_relu ----------------------------------------------------------------------

BiasActDesc to_desc(const char* op, const BiasActShape& s) {
    MG_CHECK(s.outer >= 0 && s.channels >= 0 && s.inner >= 0, "{}: negative size [{}, {}, {}]", op, s.outer,
             s.channels, s.inner);
    MG_CHECK(s.slope >= 0.0, "{}: slope {} must be >= 0 (the backward reads the sign of out)", op, s.slope);
    BiasActDesc d;
    d.outer = s.outer, d.channels = s.channels, d.inner = s.inner;
    d.slope = s.slope;
    return d;
}

template <DType t>
void bias_act_forward(const BiasActShape& s, const void* y, const void* bias, void* out) {
    launch_bias_act_forward(scalar(t), to_desc("bias_act_forward", s), y, bias, out);
}

template <DType t>
void bias_act_backward(const BiasActShape& s, const void* out, const void* g, void* gy, void* gbias) {
    launch_bias_act_backward(scalar(t), to_desc("bias_act_backward", s), out, g, gy, gbias);
}

// ---- Adam / AdamW -----------------------------------------------------------------------------

AdamStepDesc step_desc(const AdamHyper& h) {
    return adam_step_desc(h.lr, h.beta1, h.beta2, h.eps, h.weight_decay, h.decoupled, h.step);
}

template <DType t>
void adam_update(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int64_t n,
                 const AdamHyper& h) {
    MG_CHECK(n >= 0, "adam_update[cuda]: negative element count {}", n);
    launch_adam_update(scalar(t), step_desc(h), param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n);
}

template <DType t>
void adam_update_multi(const AdamTensorList& list, const AdamHyper& h) {
    MG_CHECK(list.count >= 0, "adam_update_multi[cuda]: negative tensor count {}", list.count);
    for (int64_t k = 0; k < list.count; ++k)
        MG_CHECK(list.numels[k] >= 0, "adam_update_multi[cuda]: tensor {} has {} elements", k, list.numels[k]);
    AdamTensorListDesc d;
    d.count = list.count;
    d.params = list.params;
    d.grads = list.grads;
    d.exp_avg = list.exp_avg;
    d.exp_avg_sq = list.exp_avg_sq;
    d.max_exp_avg_sq = list.max_exp_avg_sq;
    d.numels = list.numels;
    launch_adam_update_multi(scalar(t), step_desc(h), d);
}

template <DType t>
void add_dtype() {
    bias_act_forward_table().add("cuda", Device::CUDA, t, &bias_act_forward<t>, 10,
                                 "grid-stride over elements, channel = (i / inner) % channels");
    bias_act_backward_table().add("cuda", Device::CUDA, t, &bias_act_backward<t>, 10,
                                  "a block per channel writes gy and sums it in double: shuffle + shared tree");
    adam_update_table().add("cuda", Device::CUDA, t, &adam_update<t>, 10,
                            "grid-stride, _rn intrinsics (no FMA): the CPU reference's rounding");
    adam_update_multi_table().add("cuda", Device::CUDA, t, &adam_update_multi<t>, 10,
                                  "one launch for all tensors: pinned table upload, binary search per element");
}

}  // namespace

void register_cuda_bias_act_adam() {
    add_dtype<DType::Float32>();
    add_dtype<DType::Float64>();
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
