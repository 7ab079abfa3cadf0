// The "avx2" and "avx512" GEMM: gemm_blocked.h's loop nest over simd.h's vector traits, plus
// the micro-kernel shape and block sizes below. Include only from an isa_*.cpp file.
//
// What it changes against "reference": packed panels, MC/KC/NC cache blocking, a
// register-tiled micro-kernel and OpenMP over blocks of C (see gemm_blocked.h).
//
// Micro-kernel MR x NR, NR = two vectors: MR rows of A broadcast against two vectors of B,
// with MR as large as the register file allows (MR * 2 accumulators + 2 B vectors + 1
// broadcast):
//   AVX-512: 14 x 32 (float) / 14 x 16 (double), 31 of the 32 zmm registers. Per k step 28
//            FMAs against 16 loads (2 vectors + 14 broadcasts), the best FMA-to-load ratio
//            that fits. Zen 5 retires 2 zmm FMAs a cycle (Zen 4: one, double-pumped) with 4
//            cycles of latency, so at least 8 independent chains are needed; 28 leave room
//            to spare. Rows of C are the unit of a tile so the writeback is 2 contiguous
//            vectors per row (row-major C); 6 x 64 (24 FMAs for 10 loads) would load less
//            but writes 4 vectors per row and wastes more at n edges.
//   AVX2:    6 x 16 (float) / 6 x 8 (double), 15 of the 16 ymm registers; per k step 12 FMAs
//            against 8 loads, 12 chains for the 8 that Haswell..Zen 5 need. BLIS's Haswell shape.
//
// Blocking: mc x kc blocks of A (L2), kc x nc panels of B (L3), kc x NR micro-panels of B
// (L1), chosen at run time per instruction set and dtype from the caches this CPU reports,
// a tuned file or MINIGEN_GEMM_BLOCKING (gemm_blocking.h; docs/kernels.md). The constants
// this file used to fix, measured on a Zen 5 EPYC (float: mc 336, kc 256, nc 4096), are
// what the derivation gives on a Zen 4 (L1d 32 KiB, L2 1 MiB).
#pragma once

#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/gemm_blocking.h"
#include "kernels/cpu/simd.h"

namespace mg::kernels::simd {
namespace {

template <class S> struct GemmTraits : S {
    static constexpr int NV = 2, NR = NV * int(S::L);
    static constexpr int MR = (kRegisters - NV - 1) / NV;  // 14 (AVX-512), 6 (AVX2)
    // What gemm_blocking() is asked about: a compile-time constant, so no code of
    // gemm_kernel_shape is compiled with this file's ISA flags.
    static constexpr cpu::GemmKernelShape kShape =
        cpu::gemm_kernel_shape(kIsa, int(S::L * sizeof(typename S::T)), kRegisters, int(sizeof(typename S::T)));
    static_assert(kShape.mr == MR && kShape.nr == NR, "gemm_kernel_shape must describe this micro-kernel");
    // Below this many FLOPs one thread is faster than waking the others.
    static constexpr double kParallelFlops = 4e6;
};

// C = alpha * op(A) · op(B) + beta * C (GemmArgs in kernels/gemm.h).
template <class S> void gemm(const GemmArgs& g, const void* a, const void* b, void* c) {
    cpu::check_gemm_args(g, kIsa, a, b, c);
    cpu::gemm_blocked::gemm_batched<GemmTraits<S>>(g, a, b, c);
}

}  // namespace
}  // namespace mg::kernels::simd
