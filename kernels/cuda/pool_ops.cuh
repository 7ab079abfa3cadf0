// The per-element code of the pooling kernels (pool.cu), host and device: see
// device_math.cuh for why. Mirrors kernels/cpu/pool.cpp.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// [begin, end) of the window taps k whose input o*stride - pad + k lies in [0, size).
MG_HOST_DEVICE void taps_in_bounds(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t& begin,
                                   int64_t& end) {
    const int64_t start = o * stride - pad;
    begin = -start < 0 ? 0 : (-start > k ? k : -start);
    const int64_t e = size - start;
    end = e < begin ? begin : (e > k ? k : e);
}

// [first, last] of the outputs whose window covers input position i (empty when first > last).
MG_HOST_DEVICE void outputs_covering(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t outs,
                                     int64_t& first, int64_t& last) {
    const int64_t lowest = i + pad - k + 1;  // o*stride >= lowest
    first = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
    last = (i + pad) / stride;
    if (last > outs - 1) last = outs - 1;
}

// ---- one element each: y[o] / gx[i] ------------------------------------------------

template <class T>
MG_HOST_DEVICE void max_pool_forward_at(const Pool2dShape& s, const T* x, T* y, int64_t* argmax, int64_t o) {
    const int64_t ow = o % s.ow, oh = (o / s.ow) % s.oh, plane = o / (s.ow * s.oh);
    const T* xp = x + plane * s.h * s.w;
    int64_t kh0, kh1, kw0, kw1;
    taps_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
    taps_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
    T best = T(-INFINITY);
    int64_t best_index = -1;
    for (int64_t kh = kh0; kh < kh1; ++kh)
        for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int64_t index = (oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw;
            const T v = xp[index];
            if (best_index < 0 || v > best || (dev_isnan(v) && !dev_isnan(best))) {
                best = v;
                best_index = index;
            }
        }
    y[o] = best;
    argmax[o] = best_index;
}

template <class T>
MG_HOST_DEVICE void max_pool_backward_at(const Pool2dShape& s, const T* gy, const int64_t* argmax, T* gx, int64_t i) {
    const int64_t iw = i % s.w, ih = (i / s.w) % s.h, plane = i / (s.w * s.h);
    const int64_t position = ih * s.w + iw;
    int64_t oh0, oh1, ow0, ow1;
    outputs_covering(ih, s.stride_h, s.pad_h, s.kh, s.oh, oh0, oh1);
    outputs_covering(iw, s.stride_w, s.pad_w, s.kw, s.ow, ow0, ow1);
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
        for (int64_t ow = ow0; ow <= ow1; ++ow) {
            const int64_t o = (plane * s.oh + oh) * s.ow + ow;
            if (argmax[o] == position) acc += gy[o];
        }
    gx[i] = acc;
}

template <class T>
MG_HOST_DEVICE void avg_pool_forward_at(const Pool2dShape& s, const T* x, T* y, int64_t o) {
    const int64_t ow = o % s.ow, oh = (o / s.ow) % s.oh, plane = o / (s.ow * s.oh);
    const T* xp = x + plane * s.h * s.w;
    int64_t kh0, kh1, kw0, kw1;
    taps_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
    taps_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
    double sum = 0.0;
    for (int64_t kh = kh0; kh < kh1; ++kh)
        for (int64_t kw = kw0; kw < kw1; ++kw)
            sum += double(xp[(oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw]);
    y[o] = T(sum / double(s.kh * s.kw));
}

template <class T>
MG_HOST_DEVICE void avg_pool_backward_at(const Pool2dShape& s, const T* gy, T* gx, int64_t i) {
    const int64_t iw = i % s.w, ih = (i / s.w) % s.h, plane = i / (s.w * s.h);
    const T divisor = T(s.kh * s.kw);
    int64_t oh0, oh1, ow0, ow1;
    outputs_covering(ih, s.stride_h, s.pad_h, s.kh, s.oh, oh0, oh1);
    outputs_covering(iw, s.stride_w, s.pad_w, s.kw, s.ow, ow0, ow1);
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
        for (int64_t ow = ow0; ow <= ow1; ++ow) acc += gy[(plane * s.oh + oh) * s.ow + ow] / divisor;
    gx[i] = acc;
}

}  // namespace mg::kernels::cuda
