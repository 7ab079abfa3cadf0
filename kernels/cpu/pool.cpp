// Pooling "reference": plain loops over each (n, c) plane, planes split across OpenMP
// threads (planes are independent, so the result never depends on the thread count).
//   x [N, C, H, W] -> y [N, C, OH, OW], window (oh, kh) reads ih = oh*stride_h - pad_h + kh
//   max: padding is -inf; ties keep the first maximum in window order (kh, then kw);
//        a NaN wins over every number, the first NaN over later ones (NaN propagates);
//        argmax [N, C, OH, OW] holds ih*W + iw inside the plane, -1 for a window of padding only.
//   avg: padding is 0 and the divisor is KH*KW (PyTorch's count_include_pad=True).
// "direct" (max forward): the same results, the interior windows without bounds arithmetic.
// "avx512" (max forward, float32): pool_simd.h for 2x2 stride 2, "direct" otherwise.
// No kernel here reads the FP exception flags; as in elementwise.cpp, without this GCC will
// not turn the max's compare-and-select into branch-free code (it must not raise a flag the
// branch would not).
#pragma GCC optimize("no-trapping-math")

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/isa_kernels.h"
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

// One output window of a plane: output (oh, ow), its taps [kh0, kh1) x [kw0, kw1) that lie
// inside the input, and at(kh, kw), the input index of a tap within the plane.
struct Window {
    int64_t oh, ow, kh0, kh1, kw0, kw1;
    int64_t origin, w;  // input index of tap (0, 0) (may lie in the padding); input row length
    int64_t at(int64_t kh, int64_t kw) const { return origin + kh * w + kw; }
};

// start(plane), then visit(plane, window) for each output window of the plane, for every
// plane; planes split across OpenMP threads (they are independent, so the result never
// depends on the thread count).
template <class Start, class Visit>
void for_each_window(const Pool2dShape& s, Start&& start, Visit&& visit) {
    const int64_t planes = s.n * s.c;
#pragma omp parallel for schedule(static) if (planes * s.oh * s.ow >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane) {
        start(plane);
        Window win;
        win.w = s.w;
        for (win.oh = 0; win.oh < s.oh; ++win.oh) {
            window_in_bounds(win.oh, s.stride_h, s.pad_h, s.kh, s.h, win.kh0, win.kh1);
            for (win.ow = 0; win.ow < s.ow; ++win.ow) {
                window_in_bounds(win.ow, s.stride_w, s.pad_w, s.kw, s.w, win.kw0, win.kw1);
                win.origin = (win.oh * s.stride_h - s.pad_h) * s.w + win.ow * s.stride_w - s.pad_w;
                visit(plane, win);
            }
        }
    }
}

// y [N, C, OH, OW], argmax [N, C, OH, OW] = max_pool(x [N, C, H, W])
template <class T>
void max_pool2d_forward_reference(const Pool2dShape& s, const void* xv, void* yv, int64_t* argmax) {
    check_pool2d_shape("max_pool2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    for_each_window(s, [](int64_t) {}, [&](int64_t plane, const Window& win) {
        const T* xp = x + plane * s.h * s.w;
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_index = -1;
        for (int64_t kh = win.kh0; kh < win.kh1; ++kh)
            for (int64_t kw = win.kw0; kw < win.kw1; ++kw) {
                const int64_t index = win.at(kh, kw);
                const T v = xp[index];
                const bool wins = best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best));
                if (wins) {
                    best = v;
                    best_index = index;
                }
            }
        const int64_t out = (plane * s.oh + win.oh) * s.ow + win.ow;
        y[out] = best;
        argmax[out] = best_index;
    });
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
    const double divisor = double(s.kh * s.kw);
    for_each_window(s, [](int64_t) {}, [&](int64_t plane, const Window& win) {
        const T* xp = x + plane * s.h * s.w;
        double sum = 0.0;
        for (int64_t kh = win.kh0; kh < win.kh1; ++kh)
            for (int64_t kw = win.kw0; kw < win.kw1; ++kw) sum += double(xp[win.at(kh, kw)]);
        y[(plane * s.oh + win.oh) * s.ow + win.ow] = T(sum / divisor);
    });
}

// gx [N, C, H, W] = 0, then every in-bounds window cell += gy / (KH*KW)
template <class T>
void avg_pool2d_backward_reference(const Pool2dShape& s, const void* gyv, void* gxv) {
    check_pool2d_shape("avg_pool2d_backward", s);
    const T* gy = static_cast<const T*>(gyv);
    T* gx = static_cast<T*>(gxv);
    const int64_t plane_size = s.h * s.w;
    const T divisor = T(s.kh * s.kw);
    for_each_window(
        s, [&](int64_t plane) { std::fill(gx + plane * plane_size, gx + (plane + 1) * plane_size, T(0)); },
        [&](int64_t plane, const Window& win) {
            T* gxp = gx + plane * plane_size;
            const T g = gy[(plane * s.oh + win.oh) * s.ow + win.ow] / divisor;
            for (int64_t kh = win.kh0; kh < win.kh1; ++kh)
                for (int64_t kw = win.kw0; kw < win.kw1; ++kw) gxp[win.at(kh, kw)] += g;
        });
}

// "direct": the same windows, the same winners, but the windows that lie wholly inside the
// plane (all of them without padding) skip the bounds arithmetic, and 2x2 / 3x3 windows are
// unrolled at compile time. The first element of a window seeds the running maximum, which
// is what the reference's "best_index < 0" test amounts to.
template <class T, int KH, int KW>
inline void max_window(const T* xp, int64_t w, int64_t kh_n, int64_t kw_n, int64_t first, T& best,
                       int64_t& best_index) {
    const int64_t rows = KH > 0 ? KH : kh_n, cols = KW > 0 ? KW : kw_n;
    best = xp[first];
    best_index = first;
    for (int64_t kh = 0; kh < rows; ++kh)
        for (int64_t kw = 0; kw < cols; ++kw) {
            const int64_t index = first + kh * w + kw;
            const T v = xp[index];
            // Selects, not a branch: on real data the winner is unpredictable, and a
            // mispredicted branch per tap cost more than the loads.
            const bool take = (v > best) | ((v != v) & (best == best));
            best = take ? v : best;
            best_index = take ? index : best_index;
        }
}

template <class T, int KH, int KW>
void max_pool2d_plane_direct(const Pool2dShape& s, const T* xp, T* yp, int64_t* ap) {
    // Output columns [ow_lo, ow_hi) and rows [oh_lo, oh_hi) have windows wholly inside.
    auto inside = [](int64_t size, int64_t k, int64_t stride, int64_t pad, int64_t outs, int64_t& lo, int64_t& hi) {
        lo = std::min<int64_t>(outs, (pad + stride - 1) / stride);
        hi = size + pad - k < 0 ? lo : std::max(lo, std::min<int64_t>(outs, (size + pad - k) / stride + 1));
    };
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    inside(s.h, s.kh, s.stride_h, s.pad_h, s.oh, oh_lo, oh_hi);
    inside(s.w, s.kw, s.stride_w, s.pad_w, s.ow, ow_lo, ow_hi);
    for (int64_t oh = 0; oh < s.oh; ++oh) {
        const bool row_inside = oh >= oh_lo && oh < oh_hi;
        for (int64_t ow = 0; ow < s.ow; ++ow) {
            T best;
            int64_t best_index;
            if (row_inside && ow >= ow_lo && ow < ow_hi) {
                const int64_t first = (oh * s.stride_h - s.pad_h) * s.w + ow * s.stride_w - s.pad_w;
                max_window<T, KH, KW>(xp, s.w, s.kh, s.kw, first, best, best_index);
            } else {  // a border window: the reference's clamped loop
                int64_t kh0, kh1, kw0, kw1;
                window_in_bounds(oh, s.stride_h, s.pad_h, s.kh, s.h, kh0, kh1);
                window_in_bounds(ow, s.stride_w, s.pad_w, s.kw, s.w, kw0, kw1);
                best = -std::numeric_limits<T>::infinity();
                best_index = -1;
                for (int64_t kh = kh0; kh < kh1; ++kh)
                    for (int64_t kw = kw0; kw < kw1; ++kw) {
                        const int64_t index = (oh * s.stride_h - s.pad_h + kh) * s.w + ow * s.stride_w - s.pad_w + kw;
                        const T v = xp[index];
                        if (best_index < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                            best = v;
                            best_index = index;
                        }
                    }
            }
            yp[oh * s.ow + ow] = best;
            ap[oh * s.ow + ow] = best_index;
        }
    }
}

template <class T>
void max_pool2d_forward_direct(const Pool2dShape& s, const void* xv, void* yv, int64_t* argmax) {
    check_pool2d_shape("max_pool2d_forward", s);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    const int64_t planes = s.n * s.c, outs = s.oh * s.ow;
    auto plane_fn = &max_pool2d_plane_direct<T, 0, 0>;
    if (s.kh == 2 && s.kw == 2) plane_fn = &max_pool2d_plane_direct<T, 2, 2>;
    if (s.kh == 3 && s.kw == 3) plane_fn = &max_pool2d_plane_direct<T, 3, 3>;
#pragma omp parallel for schedule(static) if (planes * outs >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane)
        plane_fn(s, x + plane * s.h * s.w, y + plane * outs, argmax + plane * outs);
}

#if defined(__x86_64__)
// "avx512" (float32): 2x2 windows, stride 2, no padding in pool_simd.h; "direct" otherwise.
void max_pool2d_forward_avx512(const Pool2dShape& s, const void* xv, void* yv, int64_t* argmax) {
    const bool two_by_two = s.kh == 2 && s.kw == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 &&
                            s.pad_w == 0 && s.h * s.w < (int64_t(1) << 31);
    if (!two_by_two) return max_pool2d_forward_direct<float>(s, xv, yv, argmax);
    check_pool2d_shape("max_pool2d_forward", s);
    const float* x = static_cast<const float*>(xv);
    float* y = static_cast<float*>(yv);
    const int64_t planes = s.n * s.c, outs = s.oh * s.ow;
    const auto plane_2x2 = cpu::avx512_kernels().max_pool2d_2x2_plane_f32;
#pragma omp parallel for schedule(static) if (planes * outs >= kParallelMinOutputs)
    for (int64_t plane = 0; plane < planes; ++plane)
        plane_2x2(x + plane * s.h * s.w, s.w, s.oh, s.ow, y + plane * outs, argmax + plane * outs);
}
#endif

template <class T>
void register_pool_dtype() {
    constexpr DType t = dtype_of<T>::value;
    max_pool2d_forward_table().add("reference", Device::CPU, t, &max_pool2d_forward_reference<T>, 0,
                                   "loops over each window, first maximum wins; threads over planes");
    max_pool2d_forward_table().add("direct", Device::CPU, t, &max_pool2d_forward_direct<T>, 10,
                                   "interior windows without bounds checks, 2x2 and 3x3 unrolled; threads over planes");
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
#if defined(__x86_64__)
    if (cpu::has_avx512())
        max_pool2d_forward_table().add("avx512", Device::CPU, DType::Float32, &max_pool2d_forward_avx512, 20,
                                       "2x2 stride 2: 16 windows per vector, branch-free max and argmax; else direct");
#endif
}

}  // namespace mg::kernels
