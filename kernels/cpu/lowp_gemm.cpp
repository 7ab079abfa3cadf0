// The reduced-precision GEMMs (kernels/lowp.h): argument checks, the "reference" variants,
// the CPU check in front of each instruction-set variant, and registration.
//
// reference (int8): the plain triple loop, sum of (a - zero point) * b in int32 (exact: see
//   kMaxInt8GemmK), then int32 out or fma(float(acc), a_scale * col_scale[j], bias[j]).
// reference (bf16): the plain triple loop over the bf16 values widened to double, summed in
//   double, plus bias, rounded once to float32: the ground truth the SIMD variant approaches.
// avx512_vnni / avx512_bf16: lowp_gemm_simd.h. Registered on every CPU (so that forcing one
//   names the missing instruction set instead of "no variant"); default only where present.
#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/lowp_isa.h"
#include "kernels/lowp.h"

namespace mg::kernels {

void check_lowp_gemm_args(const char* op, const char* variant, const LowpGemmArgs& g, const void* a, const void* b,
                          const void* c) {
    MG_CHECK(g.m >= 0 && g.n >= 0 && g.k >= 0, "{}[{}]: negative size: m={} n={} k={}", op, variant, g.m, g.n, g.k);
    if (g.m == 0 || g.n == 0) return;
    const bool int8 = std::string_view(op) == "gemm_int8";
    if (int8) {
        MG_CHECK(g.k <= kMaxInt8GemmK, "{}[{}]: k={} is more than {}, where the int32 sums could overflow", op, variant,
                 g.k, kMaxInt8GemmK);
        const int32_t lo = g.a_signed ? -128 : 0, hi = g.a_signed ? 127 : 255;
        MG_CHECK(g.a_zero_point >= lo && g.a_zero_point <= hi, "{}[{}]: activation zero point {} is outside {}..{}", op,
                 variant, g.a_zero_point, lo, hi);
        if (g.col_scale) {
            MG_CHECK(std::isfinite(g.a_scale) && g.a_scale > 0, "{}[{}]: activation scale {} is not finite and > 0", op,
                     variant, g.a_scale);
            for (int64_t j = 0; j < g.n; ++j)
                MG_CHECK(std::isfinite(g.col_scale[j]) && g.col_scale[j] > 0,
                         "{}[{}]: weight scale of column {} is {}, not finite and > 0", op, variant, j, g.col_scale[j]);
        }
    }
    MG_CHECK(c != nullptr, "{}[{}]: C is null for a {}x{} output", op, variant, g.m, g.n);
    MG_CHECK(g.ldc >= g.n, "{}[{}]: ldc={} is less than n={}", op, variant, g.ldc, g.n);
    if (g.k == 0) return;
    MG_CHECK(a != nullptr && b != nullptr, "{}[{}]: A or B is null with k={}", op, variant, g.k);
    MG_CHECK(g.lda >= g.k, "{}[{}]: lda={} is less than k={}", op, variant, g.lda, g.k);
    const int64_t b_cols = g.trans_b ? g.k : g.n;
    MG_CHECK(g.ldb >= b_cols, "{}[{}]: ldb={} is less than {} (k={} n={} trans_b={})", op, variant, g.ldb, b_cols, g.k,
             g.n, g.trans_b);
}

namespace {

int8_t weight_at(const LowpGemmArgs& g, const int8_t* b, int64_t p, int64_t j) {
    return g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
}

void gemm_int8_reference(const LowpGemmArgs& g, const void* av, const int8_t* b, void* c) {
    check_lowp_gemm_args("gemm_int8", "reference", g, av, b, c);
    const auto* au = static_cast<const uint8_t*>(av);
    const auto* as = static_cast<const int8_t*>(av);
    for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
            int32_t acc = 0;
            for (int64_t p = 0; p < g.k; ++p) {
                const int32_t a = g.a_signed ? int32_t(as[i * g.lda + p]) : int32_t(au[i * g.lda + p]);
                acc += (a - g.a_zero_point) * int32_t(weight_at(g, b, p, j));
            }
            if (g.col_scale == nullptr)
                static_cast<int32_t*>(c)[i * g.ldc + j] = acc;
            else
                static_cast<float*>(c)[i * g.ldc + j] =
                    std::fma(float(acc), g.a_scale * g.col_scale[j], g.bias ? g.bias[j] : 0.f);
        }
}

void gemm_bf16_reference(const LowpGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c) {
    check_lowp_gemm_args("gemm_bf16", "reference", g, a, b, c);
    for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
            double sum = g.bias ? double(g.bias[j]) : 0.0;
            for (int64_t p = 0; p < g.k; ++p) {
                const uint16_t w = g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j];
                sum += double(bf16_bits_to_float(a[i * g.lda + p])) * double(bf16_bits_to_float(w));
            }
            c[i * g.ldc + j] = float(sum);
        }
}

// A variant forced onto a CPU without its instruction set fails here, naming it.
void require_isa(bool present, const char* op, const char* variant, const char* isa) {
    MG_CHECK(present, "{}[{}]: this CPU has no {} (its low-precision sets: {}); use the 'reference' variant", op,
             variant, isa, cpu::lowp_feature_string());
}

void gemm_int8_avx512_vnni(const LowpGemmArgs& g, const void* a, const int8_t* b, void* c) {
    require_isa(cpu::lowp_features().avx512_vnni, "gemm_int8", "avx512_vnni", "AVX512-VNNI");
    check_lowp_gemm_args("gemm_int8", "avx512_vnni", g, a, b, c);
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0) return gemm_int8_reference(g, a, b, c);  // only the epilogue: no products
    cpu::gemm_int8_avx512_vnni(g, a, b, c);
}

void gemm_bf16_avx512_bf16(const LowpGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c) {
    require_isa(cpu::lowp_features().avx512_bf16, "gemm_bf16", "avx512_bf16", "AVX512-BF16");
    check_lowp_gemm_args("gemm_bf16", "avx512_bf16", g, a, b, c);
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0) return gemm_bf16_reference(g, a, b, c);
    cpu::gemm_bf16_avx512_bf16(g, a, b, c);
}

}  // namespace

void register_cpu_lowp_gemm() {
    const cpu::LowpFeatures& f = cpu::lowp_features();
    auto& i8 = gemm_int8_table();
    i8.add("reference", Device::CPU, DType::UInt8, &gemm_int8_reference, 0,
           "plain triple loop, exact int32 sums of (a - zero point) * b: the ground truth");
    i8.add("avx512_vnni", Device::CPU, DType::UInt8, &gemm_int8_avx512_vnni, f.avx512_vnni ? 30 : -1,
           "AVX-512 VNNI vpdpbusd (u8 x s8, 4 k per lane), B packed in 64-column blocks, 6x64 tile, "
           "zero point folded in as zp * colsum(B)");
    auto& bf = gemm_bf16_table();
    bf.add("reference", Device::CPU, DType::Float32, &gemm_bf16_reference, 0,
           "plain triple loop over bf16 values widened to double: the ground truth");
    bf.add("avx512_bf16", Device::CPU, DType::Float32, &gemm_bf16_avx512_bf16, f.avx512_bf16 ? 30 : -1,
           "AVX512-BF16 vdpbf16ps (2 k per float lane), B packed in 64-column blocks, 6x64 tile");
}

}  // namespace mg::kernels
