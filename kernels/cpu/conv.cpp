// Registers the CPU conv2d variants (kernels/cpu/conv_*.cpp).
#include "kernels/conv.h"
#include "kernels/cpu/conv_variants.h"

namespace mg::kernels {

template <class T>
static void register_conv_dtype() {
    using namespace cpu;
    constexpr DType t = dtype_of<T>::value;
    conv2d_forward_table().add("reference", Device::CPU, t, &conv2d_forward_reference<T>, 0,
                               "nested loops over each output, double accumulation");
    conv2d_backward_input_table().add("reference", Device::CPU, t, &conv2d_backward_input_reference<T>, 0,
                                      "nested loops gathering each input gradient, double accumulation");
    conv2d_backward_weight_table().add("reference", Device::CPU, t, &conv2d_backward_weight_reference<T>, 0,
                                       "nested loops over each weight gradient, double accumulation");
    conv2d_forward_table().add("im2col", Device::CPU, t, &conv2d_forward_im2col<T>, 10,
                               "im2col per image chunk, then W_g x col in the active GEMM; threads over images");
    conv2d_backward_input_table().add("im2col", Device::CPU, t, &conv2d_backward_input_im2col<T>, 10,
                                      "W_g^T x gy in the active GEMM, then col2im; threads over images");
    conv2d_backward_weight_table().add("im2col", Device::CPU, t, &conv2d_backward_weight_im2col<T>, 10,
                                       "gy x col^T in the active GEMM, per-thread partials summed in thread order");
}

void register_cpu_conv() {
    register_conv_dtype<float>();
    register_conv_dtype<double>();
}

}  // namespace mg::kernels
