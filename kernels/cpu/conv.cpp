// Registers the CPU conv2d variants (kernels/cpu/conv_*.cpp) and holds the shape check
// they share. The op layer validates user input; this check keeps a kernel from
// reading out of bounds when handed an inconsistent Conv2dShape.
#include "kernels/conv.h"
#include "kernels/cpu/conv_variants.h"

namespace mg::kernels::cpu {

// Output size of one spatial dimension: (in + 2*pad - dil*(k-1) - 1) / stride + 1, or 0
// when the dilated kernel does not fit even once.
static int64_t conv_output_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

void check_conv2d_shape(std::string_view op, const Conv2dShape& s) {
    MG_CHECK(s.n >= 0 && s.c_in >= 0 && s.h >= 0 && s.w >= 0 && s.c_out >= 0,
             "{}: negative size in input [{}, {}, {}, {}] or c_out {}", op, s.n, s.c_in, s.h, s.w, s.c_out);
    MG_CHECK(s.kh >= 1 && s.kw >= 1, "{}: kernel {}x{} must be at least 1x1", op, s.kh, s.kw);
    MG_CHECK(s.stride_h >= 1 && s.stride_w >= 1 && s.dil_h >= 1 && s.dil_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
             "{}: stride ({}, {}) and dilation ({}, {}) must be >= 1, padding ({}, {}) >= 0", op, s.stride_h,
             s.stride_w, s.dil_h, s.dil_w, s.pad_h, s.pad_w);
    MG_CHECK(s.groups >= 1 && s.c_in % s.groups == 0 && s.c_out % s.groups == 0,
             "{}: groups {} must divide c_in {} and c_out {}", op, s.groups, s.c_in, s.c_out);
    const int64_t oh = conv_output_size(s.h, s.kh, s.stride_h, s.pad_h, s.dil_h);
    const int64_t ow = conv_output_size(s.w, s.kw, s.stride_w, s.pad_w, s.dil_w);
    MG_CHECK(s.oh == oh && s.ow == ow, "{}: output {}x{} does not match input {}x{}, kernel {}x{}: expected {}x{}",
             op, s.oh, s.ow, s.h, s.w, s.kh, s.kw, oh, ow);
}

}  // namespace mg::kernels::cpu

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
