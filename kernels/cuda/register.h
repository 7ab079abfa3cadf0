// What the CUDA registration files share (g++ only): the register function of each family,
// called by register_cuda_kernels() (register.cpp), and the loop over the float dtypes.
// Registration only stores function pointers: no CUDA call happens there.
#pragma once

#include "kernels/base.h"

namespace mg::kernels::cuda {

void register_cuda_gemm_cublas();         // gemm_cublas.cpp
void register_cuda_conv_cudnn();          // conv_cudnn.cpp
void register_cuda_conv_im2col();         // conv_im2col.cpp
void register_cuda_bias_act_adam();       // register_bias_adam.cpp
void register_cuda_masked_conv();         // masked_conv.cpp
void register_cuda_softmax_batch_norm();  // register_norm.cpp

// add.template operator()<t>() for t = float32, then float64: a family's entries per dtype.
template <class Add>
void for_float_dtypes(Add&& add) {
    add.template operator()<DType::Float32>();
    add.template operator()<DType::Float64>();
}

}  // namespace mg::kernels::cuda
