// The "avx512" kernels: every SIMD family on 16 float / 8 double lanes, plus those written
// for AVX-512 alone (isa_kernels.h).
#include "kernels/cpu/adam_simd.h"
#include "kernels/cpu/conv_implicit_simd.h"
#include "kernels/cpu/elementwise_simd.h"
#include "kernels/cpu/isa_simd.h"
#include "kernels/cpu/pool_simd.h"

namespace mg::kernels::cpu {

namespace {

constexpr IsaKernels avx512() {
    IsaKernels k = simd::common_isa_kernels();
    k.f32.adam_update = &simd::adam_update<simd::F32>;
    k.f64.adam_update = &simd::adam_update<simd::F64>;
    k.max_pool2d_2x2_plane_f32 = &simd::max_pool2d_2x2_plane_f32;
    k.implicit_gemm_f32 = {simd::implicit_gemm::kRowTile, &simd::implicit_gemm::forward,
                           &simd::implicit_gemm::weight};
    return k;
}

}  // namespace

const IsaKernels& avx512_kernels() {
    static constexpr IsaKernels kKernels = avx512();
    return kKernels;
}

}  // namespace mg::kernels::cpu

MG_DENSE_KERNELS_FOR(avx512)
