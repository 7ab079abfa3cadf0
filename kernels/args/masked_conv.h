// The shape of PixelCNN's masked convolution (kernels/masked_conv.h), plain for nvcc, and
// its kept taps: with c = k/2, rows 0 .. c-1 whole, then row c's columns 0 .. c-1 (type
// 'A') or 0 .. c ('B'), in raster order.
#pragma once

#include <cstdint>

namespace mg::kernels {

struct MaskedConv2dShape {
    int64_t n = 0, c_in = 0, h = 0, w = 0;
    int64_t c_out = 0, k = 0;  // k odd
    char type = 'B';           // 'A' or 'B'
};

// The kept taps' count T and the i-th one's (kh, kw), as listed above.
inline int64_t masked_conv_taps(int64_t k, char type) { return (k / 2) * k + k / 2 + (type == 'B' ? 1 : 0); }
inline void masked_conv_tap(int64_t k, int64_t t, int64_t& kh, int64_t& kw) {
    kh = t / k;
    kw = t % k;  // row c's taps continue the raster order: t = c*k + kw
}

}  // namespace mg::kernels
