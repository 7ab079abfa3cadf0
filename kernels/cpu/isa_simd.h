// What isa_avx2.cpp and isa_avx512.cpp share: the families that both instruction sets run,
// instantiated on simd.h's F32 and F64 traits. Include only from an isa_*.cpp file.
#pragma once

#include "kernels/cpu/attention_simd.h"
#include "kernels/cpu/batch_norm_simd.h"
#include "kernels/cpu/gemm_simd.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/cpu/lstm_simd.h"
#include "kernels/cpu/softmax_simd.h"

namespace mg::kernels::simd {
namespace {

template <class S> constexpr cpu::IsaDTypeKernels common_kernels() {
    cpu::IsaDTypeKernels k;
    k.gemm = &gemm<S>;
    k.softmax_forward = &softmax_forward<S>;
    k.softmax_backward = &softmax_backward<S>;
    k.cross_entropy_forward = &cross_entropy_forward<S>;
    k.cross_entropy_backward = &cross_entropy_backward<S>;
    k.batch_norm_forward = &BatchNorm<S>::forward;
    k.batch_norm_backward = &BatchNorm<S>::backward;
    k.batch_norm_act_forward = &BatchNorm<S>::forward_act;
    k.batch_norm_act_backward = &BatchNorm<S>::backward_act;
    k.attention_forward = &attention_forward<S>;
    k.attention_backward = &attention_backward<S>;
    return k;
}

// The kernels both instruction sets have, for the set this file is compiled for.
constexpr cpu::IsaKernels common_isa_kernels() {
    cpu::IsaKernels k;
    k.name = kIsa;
    k.lanes_f32 = int(F32::L);
    k.f32 = common_kernels<F32>();
    k.f64 = common_kernels<F64>();
    k.f32.lstm_cell_forward = &lstm_cell_forward<F32>;
    k.f32.lstm_cell_backward = &lstm_cell_backward<F32>;
    return k;
}

}  // namespace
}  // namespace mg::kernels::simd
