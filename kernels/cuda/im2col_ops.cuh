// The per-element code of the im2col/col2im kernels (im2col.cu), host and device: see
// device_math.cuh for why. Layout of col: see im2col.cu.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// col element e of the chunk [first, first + count): x or 0 in the padding.
template <class T>
MG_HOST_DEVICE void im2col_at(const Conv2dShape& s, int64_t first, int64_t count, const T* x, T* col, int64_t e) {
    const int64_t p_size = s.oh * s.ow, width = count * p_size;
    const int64_t row = e / width, column = e % width;
    const int64_t n = column / p_size, p = column % p_size;
    const int64_t oy = p / s.ow, ox = p % s.ow;
    const int64_t j = row % s.kw, i = (row / s.kw) % s.kh, c = row / (s.kw * s.kh);
    const int64_t y = oy * s.stride_h - s.pad_h + i * s.dil_h, xx = ox * s.stride_w - s.pad_w + j * s.dil_w;
    const bool inside = y >= 0 && y < s.h && xx >= 0 && xx < s.w;
    col[e] = inside ? x[(((first + n) * s.c_in + c) * s.h + y) * s.w + xx] : T(0);
}

// The output index o with o*stride - pad + k*dil == pos, or -1 when none.
MG_HOST_DEVICE int64_t output_reading(int64_t pos, int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t outs) {
    const int64_t t = pos + pad - k * dil;
    if (t < 0 || t % stride != 0) return -1;
    const int64_t o = t / stride;
    return o < outs ? o : -1;
}

template <class T>
MG_HOST_DEVICE void col2im_at(const Conv2dShape& s, int64_t first, int64_t count, const T* col, T* gx, int64_t e) {
    // e indexes the chunk's pixels: [count, C_in, H, W]
    const int64_t xx = e % s.w, y = (e / s.w) % s.h, c = (e / (s.w * s.h)) % s.c_in, n = e / (s.w * s.h * s.c_in);
    const int64_t p_size = s.oh * s.ow, width = count * p_size;
    T acc = T(0);
    for (int64_t i = 0; i < s.kh; ++i) {
        const int64_t oy = output_reading(y, i, s.stride_h, s.pad_h, s.dil_h, s.oh);
        if (oy < 0) continue;
        for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t ox = output_reading(xx, j, s.stride_w, s.pad_w, s.dil_w, s.ow);
            if (ox < 0) continue;
            acc += col[((c * s.kh + i) * s.kw + j) * width + n * p_size + oy * s.ow + ox];
        }
    }
    gx[first * s.c_in * s.h * s.w + e] = acc;
}

}  // namespace mg::kernels::cuda
