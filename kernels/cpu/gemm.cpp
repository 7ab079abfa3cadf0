// CPU GEMM: the "reference" variant, the argument check every CPU variant shares, and
// registration of the variants this CPU can run.
//
// reference: C = alpha * op(A) · op(B) + beta * C as the plain triple loop over
// (batch, i, j, k), every access through the leading dimensions, accumulated in double.
// It is the ground truth for the tests and the fallback on CPUs without AVX2.
#include <omp.h>

#include "kernels/cpu/gemm_blocking.h"
#include "kernels/cpu/isa_kernels.h"
#include "kernels/gemm.h"

namespace mg::kernels {

namespace cpu {

void check_gemm_args(const GemmArgs& g, const char* variant, const void* a, const void* b, const void* c) {
    MG_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0 && g.batch >= 0,
             "gemm[{}]: negative size: m={} n={} k={} batch={}", variant, g.m, g.n, g.k, g.batch);
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    const int64_t a_cols = g.trans_a ? g.m : g.k;  // A is stored m x k, or k x m when trans_a
    const int64_t b_cols = g.trans_b ? g.k : g.n;  // B is stored k x n, or n x k when trans_b
    MG_CHECK(g.ldc >= g.n, "gemm[{}]: ldc={} is less than n={}", variant, g.ldc, g.n);
    MG_CHECK(c != nullptr, "gemm[{}]: C is null for a {}x{} output", variant, g.m, g.n);
    if (g.k > 0) {
        MG_CHECK(g.lda >= a_cols, "gemm[{}]: lda={} is less than {} (m={} k={} trans_a={})", variant, g.lda,
                 a_cols, g.m, g.k, g.trans_a);
        MG_CHECK(g.ldb >= b_cols, "gemm[{}]: ldb={} is less than {} (k={} n={} trans_b={})", variant, g.ldb,
                 b_cols, g.k, g.n, g.trans_b);
        MG_CHECK(a != nullptr && b != nullptr, "gemm[{}]: A or B is null with k={}", variant, g.k);
    }
    if (g.batch > 1) {
        // Batches may share A or B (stride 0 broadcasts a weight) but never C: outputs
        // of different batches are written independently (possibly by different threads).
        MG_CHECK(g.stride_a >= 0 && g.stride_b >= 0, "gemm[{}]: negative batch stride: stride_a={} stride_b={}",
                 variant, g.stride_a, g.stride_b);
        MG_CHECK(g.stride_c >= (g.m - 1) * g.ldc + g.n,
                 "gemm[{}]: stride_c={} makes the {} outputs of {}x{} (ldc={}) overlap", variant, g.stride_c,
                 g.batch, g.m, g.n, g.ldc);
    }
}

}  // namespace cpu

namespace {

// C[b] (m x n, ldc) = alpha * op(A[b]) (m x k) · op(B[b]) (k x n) + beta * C[b]
template <class T>
void gemm_reference(const GemmArgs& g, const void* av, const void* bv, void* cv) {
    cpu::check_gemm_args(g, "reference", av, bv, cv);
    if (g.batch == 0 || g.m == 0 || g.n == 0) return;
    for (int64_t batch = 0; batch < g.batch; ++batch) {
        const T* a = static_cast<const T*>(av) + batch * g.stride_a;
        const T* b = static_cast<const T*>(bv) + batch * g.stride_b;
        T* c = static_cast<T*>(cv) + batch * g.stride_c;
        for (int64_t i = 0; i < g.m; ++i)
            for (int64_t j = 0; j < g.n; ++j) {
                double sum = 0.0;
                for (int64_t p = 0; p < g.k; ++p) {
                    const double x = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
                    const double y = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
                    sum += x * y;
                }
                T& out = c[i * g.ldc + j];
                // beta == 0: C is write-only, so a NaN already there must not leak in.
                out = T(g.beta == 0.0 ? g.alpha * sum : g.alpha * sum + g.beta * double(out));
            }
    }
}

}  // namespace

void register_cpu_gemm() {
    // A bad MINIGEN_GEMM_BLOCKING fails here (kernels::init(), as a bad MINIGEN_KERNELS does),
    // not inside the first GEMM, which may run in a parallel region.
    cpu::check_gemm_blocking_env();
    auto& t = gemm_table();
    t.add("reference", Device::CPU, DType::Float32, &gemm_reference<float>, 0,
          "plain triple loop over strides, double accumulation: the ground truth");
    t.add("reference", Device::CPU, DType::Float64, &gemm_reference<double>, 0,
          "plain triple loop over strides, double accumulation: the ground truth");
    // The SIMD variants: gemm_simd.h, instantiated per instruction set.
    for (const cpu::IsaKernels* isa : cpu::cpu_isas()) {
        const bool avx512 = isa->lanes_f32 == 16;
        const char* doc = avx512 ? "AVX-512, packed panels, cache blocking sized at run time, 14x32 (f32) / "
                                   "14x16 (f64) micro-kernel, OpenMP over M/N"
                                 : "AVX2/FMA, packed panels, cache blocking sized at run time, 6x16 (f32) / "
                                   "6x8 (f64) micro-kernel, OpenMP over M/N";
        for (DType dt : {DType::Float32, DType::Float64})
            t.add(isa->name, Device::CPU, dt, isa->of(dt).gemm, avx512 ? 20 : 10, doc);
    }
}

}  // namespace mg::kernels
