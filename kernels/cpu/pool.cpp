// Pooling "reference": plain loops over each (n, c) plane, planes split across OpenMP
// threads (planes are independent, so the result never depends on the thread count).
//   x [N, C, H, W] -> y [N, C, OH, OW], window (oh, kh) reads ih = oh*stride_h - pad_h + kh
//   max: padding is -inf; ties keep the first maximum in window order (kh, then kw);
//        a NaN wins over every number, the first NaN over later ones (NaN propagates);
//        argmax [N, C, OH, OW] holds ih*W + iw inside the plane, -1 for a window of padding only.
//   avg: padding is 0 and the divisor is KH*KW (PyTorch's count_include_pad=True).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/pool.h"

namespace mg::kernels {

namespace {

// Below this many output elements a thread team costs more than the loop.
constexpr int64_t kParallelMinOutputs = int64_t(1) << 15;

void check_pool2d_shape(std::string_view op, const Pool2dShape& s) {
    MG_CHECK(s.n >= 0 && s.c >= 0 && s.h >= 0 && s.w >= 0, "{}: negative size in input [{}, {}, {}, {}]", op, s.n,
             s.c, s.h, s.w);
    MG_CHECK(s.kh >= 1 && s.kw >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
             "{}: kernel {}x{} and stride ({}, {}) must be >= 1, padding ({}, {}) >= 0", op, s.kh, s.kw, s.stride_h,
             s.stride_w, s.pad_h, s.pad_w);
    const int64_t span_h = s.h + 2 * s.pad_h - s.kh, span_w = s.w + 2 * s.pad_w - s.kw;
    const int64_t oh = span_h < 0 ? 0 : span_h / s.stride_h + 1;
    const int64_t ow = span_w < 0 ? 0 : span_w / s.stride_w + 1;
    MG_CHECK(s.oh == oh && s.ow == ow, "{}: output {}x{} does not match input {}x{}, kernel {}x{}: expected {}x{}",
             op, s.oh, s.ow, s.h, s.w, s.kh, s.kw, oh, ow);
}

// [begin, end) of the window positions k whose input o*stride - pad + k lies in [0, size).
void window_in_bounds(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t& begin,
                      int64_t& end) {
    const int64_t start = o * stride - pad;
    begin = std::clamp<int64_t>(-start, 0, k);
    end = std::clamp<int64_t>(size - start, begin, k);
}

// y [N, C, OH, OW], argmax [N, C, OH, OW] = max_pool(x [N, C, H, W])
template <class T>
void max_pool2d_forward_reference(const Pool2dShape& s, const void* xv, void* yv, int64_t* argmax) {
    check_pool2d_shape("max_pool2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    const int64_t planes = s.n * s.c;
#pragma omp parallel for schedule(static) if (planes * s.oh * s.ow >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane) {
        const T* xp = x + plane * s.h * s.w;
        for (int64_t oh = 0; oh < s.oh; ++oh) {
            int64_t kh0, kh1;
            window_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
            for (int64_t ow = 0; ow < s.ow; ++ow) {
                int64_t kw0, kw1;
                window_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
                T best = -std::numeric_limits<T>::infinity();
                int64_t best_index = -1;
                for (int64_t kh = kh0; kh < kh1; ++kh)
                    for (int64_t kw = kw0; kw < kw1; ++kw) {
                        const int64_t index = (oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw;
                        const T v = xp[index];
                        const bool wins = best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best));
                        if (wins) {
                            best = v;
                            best_index = index;
                        }
                    }
                const int64_t out = (plane * s.oh + oh) * s.ow + ow;
                y[out] = best;
                argmax[out] = best_index;
            }
        }
    }
}

// gx [N, C, H, W] = 0, then gx[plane][argmax] += gy: the adjoint of the forward's gather.
template <class T>
void max_pool2d_backward_reference(const Pool2dShape& s, const void* gyv, const int64_t* argmax, void* gxv) {
    check_pool2d_shape("max_pool2d_backward", s);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const int64_t planes = s.n * s.c, plane_size = s.h * s.w, outs = s.oh * s.ow;
    int64_t bad_count = 0;  // argmax values outside their plane, reported after the loop
#pragma omp parallel for schedule(static) reduction(+ : bad_count) if (planes * outs >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane) {
        T* gxp = gx + plane * plane_size;
        std::fill(gxp, gxp + plane_size, T(0));
        for (int64_t o = 0; o < outs; ++o) {
            const int64_t a = argmax[plane * outs + o];
            if (a < 0) continue;  // a window of padding only has no input to credit
            if (a >= plane_size) {
                ++bad_count;
                continue;
            }
            gxp[a] += gy[plane * outs + o];
        }
    }
    MG_CHECK(bad_count == 0, "max_pool2d_backward: {} argmax values lie outside the {}x{} plane", bad_count, s.h,
             s.w);
}

// y [N, C, OH, OW] = sum of the window (padding as 0) / (KH*KW)
template <class T>
void avg_pool2d_forward_reference(const Pool2dShape& s, const void* xv, void* yv) {
    check_pool2d_shape("avg_pool2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    const int64_t planes = s.n * s.c;
    const double divisor = double(s.kh * s.kw);
#pragma omp parallel for schedule(static) if (planes * s.oh * s.ow >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane) {
        const T* xp = x + plane * s.h * s.w;
        for (int64_t oh = 0; oh < s.oh; ++oh) {
            int64_t kh0, kh1;
            window_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
            for (int64_t ow = 0; ow < s.ow; ++ow) {
                int64_t kw0, kw1;
                window_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
                double sum = 0.0;
                for (int64_t kh = kh0; kh < kh1; ++kh)
                    for (int64_t kw = kw0; kw < kw1; ++kw)
                        sum += double(xp[(oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw]);
                y[(plane * s.oh + oh) * s.ow + ow] = T(sum / divisor);
            }
        }
    }
}

// gx [N, C, H, W] = 0, then every in-bounds window cell += gy / (KH*KW)
template <class T>
void avg_pool2d_backward_reference(const Pool2dShape& s, const void* gyv, void* gxv) {
    check_pool2d_shape("avg_pool2d_backward", s);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const int64_t planes = s.n * s.c, plane_size = s.h * s.w;
    const T divisor = T(s.kh * s.kw);
#pragma omp parallel for schedule(static) if (planes * s.oh * s.ow >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane) {
        T* gxp = gx + plane * plane_size;
        std::fill(gxp, gxp + plane_size, T(0));
        for (int64_t oh = 0; oh < s.oh; ++oh) {
            int64_t kh0, kh1;
            window_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
            for (int64_t ow = 0; ow < s.ow; ++ow) {
                int64_t kw0, kw1;
                window_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
                const T g = gy[(plane * s.oh + oh) * s.ow + ow] / divisor;
                for (int64_t kh = kh0; kh < kh1; ++kh)
                    for (int64_t kw = kw0; kw < kw1; ++kw)
                        gxp[(oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw] += g;
            }
        }
    }
}

template <class T>
void register_pool_dtype() {
    constexpr DType t = dtype_of<T>::value;
    max_pool2d_forward_table().add("reference", Device::CPU, t, &max_pool2d_forward_reference<T>, 0,
                                   "loops over each window, first maximum wins; threads over planes");
    max_pool2d_backward_table().add("reference", Device::CPU, t, &max_pool2d_backward_reference<T>, 0,
                                    "scatter of gy to argmax; threads over planes");
    avg_pool2d_forward_table().add("reference", Device::CPU, t, &avg_pool2d_forward_reference<T>, 0,
                                   "loops over each window, double accumulation; threads over planes");
    avg_pool2d_backward_table().add("reference", Device::CPU, t, &avg_pool2d_backward_reference<T>, 0,
                                    "spreads gy/(KH*KW) over each window; threads over planes");
}

}  // namespace

void register_cpu_pool() {
    register_pool_dtype<float>();
    register_pool_dtype<double>();
}

}  // namespace mg::kernels
