// gemm "avx512": the blocked GEMM of gemm_blocked.h on 512-bit vectors.
//
// What it changes against "reference": packed panels, MC/KC/NC cache blocking, a
// register-tiled micro-kernel and OpenMP over blocks of C (see gemm_blocked.h).
//
// Micro-kernel 14 x 32 (float) / 14 x 16 (double): 14 rows of A broadcast against two
// vectors of B. 28 accumulators + 2 B vectors + 1 broadcast = 31 of the 32 zmm
// registers. Per k step: 28 FMAs against 16 loads (2 vectors + 14 broadcasts), the
// best FMA-to-load ratio that fits the register file. Zen 5 retires 2 zmm FMAs a cycle
// (Zen 4: one, double-pumped) with 4 cycles of latency, so at least 8 independent
// chains are needed; 28 leave room to spare. Rows of C are the unit of a tile so the
// writeback is 2 contiguous vectors per row (row-major C); 6 x 64 (24 FMAs for 10
// loads) would load less but writes 4 vectors per row and wastes more at n edges.
//
// Blocking (float; double keeps the bytes, so KC halves):
//   KC = 256: the B micro-panel, KC x 32 x 4 B = 32 KiB, stays in L1 while 24 A
//             micro-panels (14 KiB each) stream past it from L2: a Zen 4 L1d is
//             32 KiB (the largest KC whose panel fits it), a Zen 5 L1d 48 KiB.
//   MC = 336 (24 * 14): the packed A block, 336 x 256 x 4 B = 336 KiB, a third of the
//             1 MiB L2, so B micro-panels and C tiles pass through without evicting it.
//   NC = 4096: the packed B panel, 256 x 4096 x 4 B = 4 MiB, lives in L3 (32 MiB).
// Measured on a Zen 5 EPYC (1 thread, 1024^3): KC 192..512 and MC 196..336 all land
// within the run-to-run noise (about 5%); docs/kernels.md for the numbers.
#include "kernels/cpu/gemm_avx512.h"

namespace mg::kernels {

// C = alpha * op(A) · op(B) + beta * C, float32 / float64 (GemmArgs in kernels/gemm.h).
void gemm_avx512_f32(const GemmArgs& g, const void* a, const void* b, void* c) {
    cpu::check_gemm_args(g, "avx512", a, b, c);
    cpu::gemm_blocked::gemm_batched<cpu::avx512::F32>(g, a, b, c);
}

void gemm_avx512_f64(const GemmArgs& g, const void* a, const void* b, void* c) {
    cpu::check_gemm_args(g, "avx512", a, b, c);
    cpu::gemm_blocked::gemm_batched<cpu::avx512::F64>(g, a, b, c);
}

}  // namespace mg::kernels
