// The implicit-GEMM convolution's inner loop on AVX-512 (conv_implicit.h has the contract):
// gemm_blocked.h's loop nest with a B-packing step that lowers the source on the fly.
//
// Panel layout (pack_b's): B rows [pc, pc+kc) and columns [jc, jc+nc) go to
// out[(j / NR) * kc * NR + (r - pc) * NR + j % NR], NR = 32 = two vectors. For row r the 32
// columns of a panel are 32 consecutive output positions q, which read 32 consecutive source
// elements q + shift: two masked loads, the masks straight from the tap's bit table (q is a
// multiple of 16 because jc is a multiple of NC and panels are 32 wide). Masked-off lanes are
// never read, so the padding and the row wrap-around cost nothing and fault nothing.
#include "kernels/cpu/conv_implicit.h"
#include "kernels/cpu/gemm_avx512.h"

namespace mg::kernels::cpu {

namespace {

using V = avx512::F32;
static_assert(V::NR == 2 * V::L && V::L == 16 && V::NC % V::L == 0, "the packer assumes 16-lane, 2-vector panels");

void lower_panels(const ShiftedLowering& b, const float* src, int64_t pc, int64_t jc, int64_t kc, int64_t nc,
                  float* out) {
    const int64_t end = jc + nc;
    for (int64_t r = pc; r < pc + kc; ++r) {
        const int64_t t = r % b.taps;
        const float* plane = src + (r / b.taps) * b.plane_size + b.shift[t];
        const uint16_t* bits = b.valid + t * b.words;
        float* dst = out + (r - pc) * V::NR;
        for (int64_t q = jc; q < end; q += V::NR, dst += kc * V::NR) {
            for (int v = 0; v < 2; ++v) {
                const int64_t q0 = q + v * V::L;
                __mmask16 m = q0 < end ? __mmask16(bits[q0 / V::L]) : __mmask16(0);
                if (end - q0 < V::L) m &= V::tail(int(end - q0 > 0 ? end - q0 : 0));
                // plane + q0 may point outside the source where every lane is masked off;
                // _mm512_maskz_loadu_ps reads only the set lanes.
                V::store(dst + v * V::L, _mm512_maskz_loadu_ps(m, plane + q0));
            }
        }
    }
}

}  // namespace

int implicit_gemm_row_tile_avx512_f32() { return V::MR; }

void implicit_gemm_avx512_f32(const float* a, int64_t lda, int64_t m, const ShiftedLowering& b, const float* src,
                              float* out) {
    float* work = gemm_blocked::thread_scratch<V>(gemm_blocked::work_elements<V>(m, b.n, b.k));
    const auto lower = [&b, src](int64_t pc, int64_t jc, int64_t kc, int64_t nc, float* panels) {
        lower_panels(b, src, pc, jc, kc, nc, panels);
    };
    gemm_blocked::gemm_block<V>(gemm_blocked::OpView<V>{a, lda, false}, lower, out, b.n, m, b.n, b.k, 1.0f, 0.0f,
                                work);
}

}  // namespace mg::kernels::cpu
