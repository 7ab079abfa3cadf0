// Registers conv2d "winograd" (conv_winograd_avx512.cpp, which says what it computes). This
// file is compiled for the baseline instruction set, so registering never runs AVX-512 code.
#include "kernels/conv.h"
#include "kernels/cpu/conv_variants.h"
#include "kernels/cpu/cpu_features.h"

namespace mg::kernels {

// Priority 40, over polyphase's 30: the 4x4 stride-2 pad-1 convs with at least 16 channels in
// and out (every conv of the dcgan family but the 1- and 3-channel ends) run 9 multiplies per
// output and phase instead of 16; odd outputs pad the last tile row or column (at 7x7 still
// 1.1x polyphase forward, 1.3x backward); every other shape goes to polyphase inside each face
// (docs/results/2026-12-07-winograd-conv.md).
void register_cpu_conv_winograd() {
    if (!cpu::has_avx512()) return;
    const char* rule = "4x4 stride 2 pad 1, C_in and C_out >= 16, 2 tiles or more; else polyphase";
    conv2d_forward_table().add("winograd", Device::CPU, DType::Float32, &cpu::conv2d_forward_winograd_f32, 40,
                               fmt::format("F(2x2,2x2) per phase: 9 GEMMs U_p x V_p over the transformed tiles; {}",
                                           rule));
    conv2d_backward_input_table().add(
        "winograd", Device::CPU, DType::Float32, &cpu::conv2d_backward_input_winograd_f32, 40,
        fmt::format("F(2x2,2x2) adjoint: 9 GEMMs U_p^T x dM_p, then B dV B^T scattered into gx; {}", rule));
    conv2d_backward_weight_table().add(
        "winograd", Device::CPU, DType::Float32, &cpu::conv2d_backward_weight_winograd_f32, 40,
        fmt::format("F(2x2,2x2) adjoint: 9 GEMMs dM_p x V_p^T, then G^T dU G; {}", rule));
}

}  // namespace mg::kernels
