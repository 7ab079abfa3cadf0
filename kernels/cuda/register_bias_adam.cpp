// Registers the CUDA variants of the fused bias + leaky_relu (kernels/bias_act.h) and of the
// fused Adam/AdamW update (kernels/optim.h): register_cuda_bias_act_adam(), called from
// register.cpp. Each entry checks its arguments here (g++, fmt) and calls the launch of
// launch_bias_adam.h (bias_act.cu / adam.cu) with the same argument structs.
#ifdef MINIGEN_WITH_CUDA
#include "kernels/bias_act.h"
#include "kernels/cuda/launch_bias_adam.h"
#include "kernels/cuda/register.h"
#include "kernels/optim.h"

namespace mg::kernels::cuda {

namespace {

// ---- bias + leaky_relu ----------------------------------------------------------------------

const BiasActShape& checked(const char* op, const BiasActShape& s) {
    MG_CHECK(s.outer >= 0 && s.channels >= 0 && s.inner >= 0, "{}: negative size [{}, {}, {}]", op, s.outer,
             s.channels, s.inner);
    MG_CHECK(s.slope >= 0.0, "{}: slope {} must be >= 0 (the backward reads the sign of out)", op, s.slope);
    return s;
}

template <DType t>
void bias_act_forward(const BiasActShape& s, const void* y, const void* bias, void* out) {
    launch_bias_act_forward(t, checked("bias_act_forward", s), y, bias, out);
}

template <DType t>
void bias_act_backward(const BiasActShape& s, const void* out, const void* g, void* gy, void* gbias) {
    launch_bias_act_backward(t, checked("bias_act_backward", s), out, g, gy, gbias);
}

// ---- Adam / AdamW -----------------------------------------------------------------------------

template <DType t>
void adam_update(void* param, const void* grad, void* exp_avg, void* exp_avg_sq, void* max_exp_avg_sq, int64_t n,
                 const AdamHyper& h) {
    MG_CHECK(n >= 0, "adam_update[cuda]: negative element count {}", n);
    launch_adam_update(t, adam_step_desc(h), param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n);
}

template <DType t>
void adam_update_multi(const AdamTensorList& list, const AdamHyper& h) {
    MG_CHECK(list.count >= 0, "adam_update_multi[cuda]: negative tensor count {}", list.count);
    for (int64_t k = 0; k < list.count; ++k)
        MG_CHECK(list.numels[k] >= 0, "adam_update_multi[cuda]: tensor {} has {} elements", k, list.numels[k]);
    launch_adam_update_multi(t, adam_step_desc(h), list);
}

}  // namespace

void register_cuda_bias_act_adam() {
    const char* bias_fwd = "grid-stride over elements, channel = (i / inner) % channels";
    const char* bias_bwd = "a block per channel writes gy and sums it in double: shuffle + shared tree";
    const char* adam = "grid-stride, _rn intrinsics (no FMA): the CPU reference's rounding";
    const char* adam_multi = "one launch for all tensors: pinned table upload, binary search per element";
    for_float_dtypes([&]<DType t>() {
        bias_act_forward_table().add("cuda", Device::CUDA, t, &bias_act_forward<t>, 10, bias_fwd);
        bias_act_backward_table().add("cuda", Device::CUDA, t, &bias_act_backward<t>, 10, bias_bwd);
        adam_update_table().add("cuda", Device::CUDA, t, &adam_update<t>, 10, adam);
        adam_update_multi_table().add("cuda", Device::CUDA, t, &adam_update_multi<t>, 10, adam_multi);
    });
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
