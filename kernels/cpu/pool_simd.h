// "avx512" max_pool2d forward, float32, for 2x2 windows with stride 2 and no padding (the
// classifier's MaxPool2); kernels/cpu/pool.cpp sends every other shape to "direct".
// Include only from isa_avx512.cpp.
//
// One output row at a time, 16 outputs per vector: the two input rows' 32 floats are split
// into even and odd columns (one permute each), which gives the four taps of 16 windows in
// window order a = (0,0), b = (0,1), c = (1,0), d = (1,1). The running maximum starts at a
// and takes each later tap where it is greater, or a NaN where the maximum is not yet one:
// the reference's rule (first maximum wins, the first NaN wins), on 16 lanes without a
// branch. The winner's tap code (0..3) becomes the argmax h*W + w. A row shorter than 16
// outputs (14 and 7 in the classifier) uses masked loads and stores, so no lane reads or
// writes past its row.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mg::kernels::simd {
namespace {

// One plane: x [h, w] -> y [oh, ow], argmax [oh, ow], with oh = h / 2, ow = w / 2.
void max_pool2d_2x2_plane_f32(const float* x, int64_t w, int64_t oh, int64_t ow, float* y, int64_t* argmax) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane2 = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    const __m512i width = _mm512_set1_epi32(int32_t(w));
    for (int64_t r = 0; r < oh; ++r) {
        const float* r0 = x + 2 * r * w;
        const float* r1 = r0 + w;
        for (int64_t c = 0; c < ow; c += 16) {
            const int64_t n = ow - c < 16 ? ow - c : 16;  // outputs in this vector
            const int64_t in = 2 * n;                      // input columns they read
            const __mmask16 lo = in >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << in) - 1);
            const __mmask16 hi = in <= 16 ? __mmask16(0) : __mmask16((1u << (in - 16)) - 1);
            const __m512 l0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * c), h0 = _mm512_maskz_loadu_ps(hi, r0 + 2 * c + 16);
            const __m512 l1 = _mm512_maskz_loadu_ps(lo, r1 + 2 * c), h1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * c + 16);
            const __m512 taps[4] = {_mm512_permutex2var_ps(l0, even, h0), _mm512_permutex2var_ps(l0, odd, h0),
                                    _mm512_permutex2var_ps(l1, even, h1), _mm512_permutex2var_ps(l1, odd, h1)};
            __m512 best = taps[0];
            __m512i code = _mm512_setzero_si512();
            for (int k = 1; k < 4; ++k) {
                const __m512 v = taps[k];
                const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
                                       (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
                best = _mm512_mask_mov_ps(best, take, v);
                code = _mm512_mask_mov_epi32(code, take, _mm512_set1_epi32(k));
            }
            const __mmask16 out = __mmask16((1u << n) - 1);
            _mm512_mask_storeu_ps(y + r * ow + c, out, best);
            // argmax = (2r + code/2) * w + 2(c + lane) + code%2, within the plane. (The maskz
            // forms with every lane set are the plain instructions; the plain intrinsics trip
            // GCC 12's -Wmaybe-uninitialized.)
            __m512i index = _mm512_add_epi32(_mm512_set1_epi32(int32_t(2 * r * w + 2 * c)), lane2);
            index = _mm512_add_epi32(index, _mm512_mullo_epi32(_mm512_maskz_srli_epi32(0xFFFF, code, 1), width));
            index = _mm512_add_epi32(index, _mm512_and_si512(code, _mm512_set1_epi32(1)));
            _mm512_mask_storeu_epi64(argmax + r * ow + c, __mmask8(out & 0xFF),
                                     _mm512_maskz_cvtepi32_epi64(0xFF, _mm512_maskz_extracti64x4_epi64(0xF, index, 0)));
            _mm512_mask_storeu_epi64(argmax + r * ow + c + 8, __mmask8(out >> 8),
                                     _mm512_maskz_cvtepi32_epi64(0xFF, _mm512_maskz_extracti64x4_epi64(0xF, index, 1)));
        }
    }
}

}  // namespace
}  // namespace mg::kernels::simd
