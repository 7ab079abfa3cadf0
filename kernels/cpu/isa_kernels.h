// The SIMD kernels of one instruction set, as the file compiled for it exports them.
//
// Each instruction set has one instantiation file, isa_avx2.cpp or isa_avx512.cpp (the build
// gives *_avx2.cpp -mavx2 -mfma and *_avx512.cpp -mavx512f/bw/dq/vl). It instantiates the
// families' templates (gemm_simd.h, softmax_simd.h, batch_norm_simd.h, adam_simd.h, ...) on
// simd.h's F32 and F64 traits and exports them through one function returning an IsaKernels:
// a table of plain function pointers. Nothing else crosses files, so no kernel is declared by
// hand anywhere, and the families register the variants from code compiled for the baseline
// ISA (cpu_isas() lists the sets this CPU runs): the registry, std::string and fmt are never
// instantiated with AVX-512 flags, where the linker could keep that copy for every caller.
// A null pointer is a variant the instruction set does not have.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/attention.h"
#include "kernels/batch_norm.h"
#include "kernels/cpu/conv_implicit.h"
#include "kernels/gemm.h"
#include "kernels/lstm.h"
#include "kernels/optim.h"
#include "kernels/softmax.h"

namespace mg::kernels::cpu {

// One dtype's variants (the tables' own signatures).
struct IsaDTypeKernels {
    GemmFn* gemm = nullptr;
    SoftmaxForwardFn* softmax_forward = nullptr;
    SoftmaxBackwardFn* softmax_backward = nullptr;
    CrossEntropyForwardFn* cross_entropy_forward = nullptr;
    CrossEntropyBackwardFn* cross_entropy_backward = nullptr;
    BatchNormForwardFn* batch_norm_forward = nullptr;
    BatchNormBackwardFn* batch_norm_backward = nullptr;
    BatchNormActForwardFn* batch_norm_act_forward = nullptr;
    BatchNormActBackwardFn* batch_norm_act_backward = nullptr;
    AdamUpdateFn* adam_update = nullptr;
    AttentionForwardFn* attention_forward = nullptr;
    AttentionBackwardFn* attention_backward = nullptr;
    LstmCellForwardFn* lstm_cell_forward = nullptr;  // float32 only (simd::tanh has float lanes)
    LstmCellBackwardFn* lstm_cell_backward = nullptr;
};

// The query and key tile of the flash attention kernels (attention_simd.h): a tile of float32
// scores is 16 KB, beside the tile's q, k and v rows in L1.
constexpr int64_t kAttentionTile = 64;

// The implicit-GEMM convolution's inner loops (conv_implicit.h), float32.
struct ImplicitGemmKernels {
    int row_tile = 0;  // rows of the micro-kernel tile: M is computed in whole tiles
    // out [M, b.n] (row stride b.n) = a [M, b.k] (row stride lda) · B(src) on the calling thread.
    void (*forward)(const float* a, int64_t lda, int64_t m, const ImplicitLowering& b, const float* src,
                    float* out) = nullptr;
    // gw [M, b.k] (row stride b.k) = gy [M, b.n] (row stride b.n) · B(src)^T + beta * gw on the
    // calling thread: the weight gradient of one block of images.
    void (*weight)(const float* gy, int64_t m, const ImplicitLowering& b, const float* src, float* gw,
                   float beta) = nullptr;
};

struct IsaKernels {
    const char* name = "";  // the variant name: "avx2", "avx512"
    int lanes_f32 = 0;      // float lanes per vector (doubles: half)
    IsaDTypeKernels f32, f64;
    // max_pool2d forward, float32, 2x2 windows with stride 2 and no padding, one plane:
    // x [h, w] -> y [h/2, ow], argmax [h/2, ow], ow = w/2.
    void (*max_pool2d_2x2_plane_f32)(const float* x, int64_t w, int64_t oh, int64_t ow, float* y,
                                     int64_t* argmax) = nullptr;
    ImplicitGemmKernels implicit_gemm_f32;

    const IsaDTypeKernels& of(DType t) const { return t == DType::Float32 ? f32 : f64; }
};

const IsaKernels& avx2_kernels();    // isa_avx2.cpp
const IsaKernels& avx512_kernels();  // isa_avx512.cpp
// The instruction sets this CPU runs, narrowest first (cpu_features.cpp).
std::vector<const IsaKernels*> cpu_isas();

// What the ISA files call to report bad arguments: defined in baseline code, which formats
// the mg::Error.
// Throws naming the variant and the offending value; called first by every CPU GEMM (gemm.cpp).
void check_gemm_args(const GemmArgs& g, const char* variant, const void* a, const void* b, const void* c);
// Throws when `bad` targets were out of range (softmax.cpp).
void check_cross_entropy_targets(int64_t bad, const SoftmaxShape& s);
// Throws for an unknown activation or a negative leaky_relu slope (batch_norm.cpp).
void check_batch_norm_activation(const char* op, const BatchNormActivation& act);

}  // namespace mg::kernels::cpu
