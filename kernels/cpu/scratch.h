// Per-thread scratch memory for the CPU kernels: packing panels, im2col columns, staging blocks.
//
// thread_scratch<T>(slot, n) returns n elements of T that belong to the calling thread and
// the slot alone:
//   - per thread: a thread_local buffer, so OpenMP workers never share one and need no lock;
//   - per slot: a caller that holds one buffer while it calls code that takes another (conv
//     holds its columns while the GEMM packs its panels) names different slots;
//   - kept between calls, grown on demand (never shrunk), so a steady-state training step
//     allocates nothing; a larger request reallocates and the old contents are lost;
//   - 64-byte aligned (a cache line, one zmm vector);
//   - freed when the thread exits.
// The memory is uninitialised; one live use per thread and slot at a time.
#pragma once

#include <cstdint>

namespace mg::kernels::cpu {

enum class Scratch {
    conv_columns,  // conv_im2col.cpp, conv_masked.cpp: the lowered input (col)
    conv_staging,  // conv_im2col.cpp, conv_implicit.cpp: several images' output or gy side by side
    gemm_panels,   // gemm_blocked.h: packed A and B panels, or a gathered strided vector
    attention,     // attention_simd.h: a head's padded k, v (and q, grad_out) and the tiles
    count
};

// `bytes` bytes (64-byte aligned) of the calling thread's buffer for `slot` (scratch.cpp).
void* thread_scratch_bytes(Scratch slot, int64_t bytes);

template <class T> T* thread_scratch(Scratch slot, int64_t elements) {
    return static_cast<T*>(thread_scratch_bytes(slot, elements * int64_t(sizeof(T))));
}

}  // namespace mg::kernels::cpu
