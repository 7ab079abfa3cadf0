// The one list of built-in kernels. Each register_* function adds the variants of
// one file (or family) to their op tables; kernels::init() calls this once.
#include "kernels/registry.h"

namespace mg::kernels {

void register_cpu_elementwise();
void register_cpu_reduce();
void register_cpu_random();
void register_cpu_index();
void register_cpu_gemm();
void register_cpu_conv();
void register_cpu_pool();
void register_cpu_optim();
void register_cpu_softmax();
void register_cpu_attention();
void register_cpu_batch_norm();
void register_cpu_bias_act();
void register_cpu_masked_conv();
void register_cpu_conv_implicit();
void register_cpu_conv_polyphase();
void register_cpu_conv_winograd();
void register_cpu_lowp_gemm();
void register_cpu_lowp_conv();
void register_cpu_lowp_convert();
void register_cpu_lstm();
#ifdef MINIGEN_WITH_CUDA
void register_cuda_kernels();
#endif

void register_all_kernels() {
    register_cpu_elementwise();
    register_cpu_reduce();
    register_cpu_random();
    register_cpu_index();
    register_cpu_gemm();
    register_cpu_conv();
    register_cpu_pool();
    register_cpu_optim();
    register_cpu_softmax();
    register_cpu_attention();
    register_cpu_batch_norm();
    register_cpu_bias_act();
    register_cpu_masked_conv();
    register_cpu_conv_implicit();  // after conv and masked conv: it falls back to their im2col
    register_cpu_conv_polyphase();  // falls back to implicit
    register_cpu_conv_winograd();  // falls back to polyphase
    register_cpu_lowp_gemm();
    register_cpu_lowp_conv();
    register_cpu_lowp_convert();
    register_cpu_lstm();
#ifdef MINIGEN_WITH_CUDA
    register_cuda_kernels();
#endif
}

}  // namespace mg::kernels
