// Softmax, log-softmax and softmax cross-entropy (kernels/softmax.h) on the GPU.
//
// x is [outer, classes, inner]; row r = o * inner + i is the `classes` values x[o, :, i],
// `inner` apart. Per row, with m = max_c x_c and lse = m + ln sum_c e^(x_c - m):
//   softmax        y = e^(x - lse)             backward  gx = y (gy - sum_c gy y)
//   log_softmax    y = x - lse                 backward  gx = gy - e^y sum_c gy
//   cross-entropy  loss = lse - x[target]      backward  gx = (e^(x - lse) - onehot(target)) g[r] scale
// Subtracting the max first keeps every e^(x - m) <= 1, so logits of any size are safe.
//
// Two layouts, picked from the shape alone:
//   inner == 1 (the classifier's [128, 10]): a row is contiguous, so one warp takes one
//     row. Lane l reads classes l, l+32, ... (neighbouring lanes, neighbouring addresses)
//     and a shuffle butterfly (warp_reduce) combines the 32 partial maxima and sums: a
//     fixed order, after which every lane holds the same bits.
//   inner > 1 (PixelCNN's logits [64, 256, 28, 28] over channels: inner 784): a row's
//     values are `inner` apart, but row r + 1 starts right after row r. One thread per
//     row, consecutive threads on consecutive inner positions, so every step over the
//     classes is one coalesced load per warp. The thread loops over the classes in order:
//     the CPU reference's own order.
// Every formula is evaluated in double, float32 included, exactly as the CPU reference
// writes it (max; sum of e^(x - m); the outputs, rounded once), so the two agree to the
// last rounding for float32 and to summation order for float64. No atomics touch values;
// the only atomic counts out-of-range targets (an integer: its total is exact).
#include <cstdio>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch_norm.h"

namespace mg::kernels::cuda {

namespace {

// First element of row r; the row's class c is at row_base + c * inner.
__device__ __forceinline__ int64_t row_base(const SoftmaxShape& s, int64_t r) {
    return (r / s.inner) * s.classes * s.inner + r % s.inner;
}

// The CPU reference's max: a NaN wins and stays (so a NaN logit makes its row NaN).
struct MaxKeepNan {
    __device__ double operator()(double a, double b) const { return (b > a || b != b) ? b : a; }
};
struct Plus {
    __device__ double operator()(double a, double b) const { return a + b; }
};

// A row is folded by `Lanes` threads: 32 (a warp) or 1. Lane l of a row takes classes
// l, l + Lanes, ...; rows are dealt out grid-stride, the same row to the whole group.
template <int Lanes>
__device__ __forceinline__ int row_lane() {
    return Lanes == 1 ? 0 : int(threadIdx.x % Lanes);
}
template <int Lanes>
__device__ __forceinline__ int64_t first_row() {
    return global_thread() / Lanes;
}
template <int Lanes>
__device__ __forceinline__ int64_t row_step() {
    return grid_threads() / Lanes;
}

// Combines the lanes' partials of a row; nothing to do for one thread per row.
template <int Lanes, class Combine>
__device__ __forceinline__ double combine_lanes(double v, Combine combine) {
    if constexpr (Lanes == 32) return warp_reduce(v, combine);
    else return v;
}

// lse = m + ln sum_c e^(x_c - m) of the row starting at `row` (classes `stride` apart).
// Every lane of the row must call it; every lane gets the same value.
template <int Lanes, class T>
__device__ double row_lse(const T* row, int64_t classes, int64_t stride, int lane) {
    double m = -INFINITY;
    for (int64_t c = lane; c < classes; c += Lanes) m = MaxKeepNan{}(m, double(row[c * stride]));
    m = combine_lanes<Lanes>(m, MaxKeepNan{});
    double sum = 0.0;
    for (int64_t c = lane; c < classes; c += Lanes) sum += dev_exp(double(row[c * stride]) - m);
    sum = combine_lanes<Lanes>(sum, Plus{});
    return m + dev_log(sum);
}

template <int Lanes, class T>
__global__ void softmax_forward_kernel(SoftmaxShape s, const T* x, T* y, bool log) {
    const int lane = row_lane<Lanes>();
    const int64_t rows = s.outer * s.inner, step = s.inner;
    for (int64_t r = first_row<Lanes>(); r < rows; r += row_step<Lanes>()) {
        const int64_t base = row_base(s, r);
        const double lse = row_lse<Lanes>(x + base, s.classes, step, lane);
        for (int64_t c = lane; c < s.classes; c += Lanes) {
            const double v = double(x[base + c * step]);
            y[base + c * step] = T(log ? v - lse : dev_exp(v - lse));
        }
    }
}

template <int Lanes, class T>
__global__ void softmax_backward_kernel(SoftmaxShape s, const T* y, const T* gy, T* gx, bool log) {
    const int lane = row_lane<Lanes>();
    const int64_t rows = s.outer * s.inner, step = s.inner;
    for (int64_t r = first_row<Lanes>(); r < rows; r += row_step<Lanes>()) {
        const int64_t base = row_base(s, r);
        double acc = 0.0;  // log: sum gy; softmax: sum gy y
        for (int64_t c = lane; c < s.classes; c += Lanes)
            acc += double(gy[base + c * step]) * (log ? 1.0 : double(y[base + c * step]));
        acc = combine_lanes<Lanes>(acc, Plus{});
        for (int64_t c = lane; c < s.classes; c += Lanes) {
            const double yc = double(y[base + c * step]), g = double(gy[base + c * step]);
            gx[base + c * step] = T(log ? g - dev_exp(yc) * acc : yc * (g - acc));
        }
    }
}

// loss[r] = lse - x[target]; a target outside [0, classes) gets a NaN loss and is counted
// in *bad_targets (the launch function turns a nonzero count into an error).
template <int Lanes, class T>
__global__ void cross_entropy_forward_kernel(SoftmaxShape s, const T* x, const int64_t* target, T* loss, T* lse_out,
                                             unsigned long long* bad_targets) {
    const int lane = row_lane<Lanes>();
    const int64_t rows = s.outer * s.inner, step = s.inner;
    for (int64_t r = first_row<Lanes>(); r < rows; r += row_step<Lanes>()) {
        const int64_t base = row_base(s, r);
        const double lse = row_lse<Lanes>(x + base, s.classes, step, lane);
        if (lane == 0) {
            const int64_t t = target[r];
            lse_out[r] = T(lse);
            if (t < 0 || t >= s.classes) {
                loss[r] = T(NAN);
                atomicAdd(bad_targets, 1ull);
            } else {
                loss[r] = T(lse - double(x[base + t * step]));
            }
        }
    }
}

// No reduction: lse comes from the forward. The row layout still pays off: target, lse
// and the row's gradient are read once per row.
template <int Lanes, class T>
__global__ void cross_entropy_backward_kernel(SoftmaxShape s, const T* x, const int64_t* target, const T* lse,
                                              const T* grad_loss, int64_t grad_stride, double scale, T* gx) {
    const int lane = row_lane<Lanes>();
    const int64_t rows = s.outer * s.inner, step = s.inner;
    for (int64_t r = first_row<Lanes>(); r < rows; r += row_step<Lanes>()) {
        const int64_t base = row_base(s, r), t = target[r];
        const double g = double(grad_loss[r * grad_stride]) * scale, l = double(lse[r]);
        for (int64_t c = lane; c < s.classes; c += Lanes)
            gx[base + c * step] = T((dev_exp(double(x[base + c * step]) - l) - (c == t ? 1.0 : 0.0)) * g);
    }
}

// Launches the warp-per-row instance for inner == 1, else the thread-per-row one, on
// current_stream(), over every row (grid-stride: any row count fits the grid cap).
template <class... Args>
void launch_rows(const char* what, const SoftmaxShape& s, void (*warp_per_row)(SoftmaxShape, Args...),
                 void (*thread_per_row)(SoftmaxShape, Args...), Args... args) {
    const int64_t rows = s.outer * s.inner;
    if (s.inner == 1) warp_per_row<<<grid_for(rows * 32), kThreads, 0, current_stream()>>>(s, args...);
    else thread_per_row<<<grid_for(rows), kThreads, 0, current_stream()>>>(s, args...);
    check_launch(what);
}

bool empty_rows(const SoftmaxShape& s) { return s.outer <= 0 || s.inner <= 0; }

}  // namespace

void launch_softmax_forward(DType t, const SoftmaxShape& s, const void* x, void* y, bool log) {
    const char* what = log ? "cuda log_softmax_forward" : "cuda softmax_forward";
    if (empty_rows(s) || s.classes <= 0) return;
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        launch_rows<const T*, T*, bool>(what, s, &softmax_forward_kernel<32, T>, &softmax_forward_kernel<1, T>,
                                        static_cast<const T*>(x), static_cast<T*>(y), log);
    });
}

void launch_softmax_backward(DType t, const SoftmaxShape& s, const void* y, const void* grad_y, void* grad_x,
                             bool log) {
    const char* what = log ? "cuda log_softmax_backward" : "cuda softmax_backward";
    if (empty_rows(s) || s.classes <= 0) return;
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        launch_rows<const T*, const T*, T*, bool>(what, s, &softmax_backward_kernel<32, T>,
                                                  &softmax_backward_kernel<1, T>, static_cast<const T*>(y),
                                                  static_cast<const T*>(grad_y), static_cast<T*>(grad_x), log);
    });
}

void launch_cross_entropy_forward(DType t, const SoftmaxShape& s, const void* x, const int64_t* target,
                                  void* loss, void* lse) {
    const char* what = "cuda cross_entropy_forward";
    // No classes still has rows: their lse is -inf and every target is out of range.
    if (empty_rows(s)) return;
    cudaStream_t stream = current_stream();
    auto* bad = static_cast<unsigned long long*>(workspace(Workspace::Softmax, sizeof(unsigned long long), what));
    check(cudaMemsetAsync(bad, 0, sizeof(unsigned long long), stream), what);
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        launch_rows<const T*, const int64_t*, T*, T*, unsigned long long*>(
            what, s, &cross_entropy_forward_kernel<32, T>, &cross_entropy_forward_kernel<1, T>,
            static_cast<const T*>(x), target, static_cast<T*>(loss), static_cast<T*>(lse), bad);
    });
    // The count decides whether this op throws, so the host waits for it here.
    unsigned long long bad_count = 0;
    check(cudaMemcpyAsync(&bad_count, bad, sizeof(bad_count), cudaMemcpyDeviceToHost, stream), what);
    check(cudaStreamSynchronize(stream), what);
    if (bad_count != 0) {
        char why[160];
        std::snprintf(why, sizeof(why), "%llu of %lld targets out of range [0, %lld)", bad_count,
                      static_cast<long long>(s.outer * s.inner), static_cast<long long>(s.classes));
        fail(what, why);
    }
}

void launch_cross_entropy_backward(DType t, const SoftmaxShape& s, const void* x, const int64_t* target,
                                   const void* lse, const void* grad_loss, int64_t grad_stride, double scale,
                                   void* grad_x) {
    const char* what = "cuda cross_entropy_backward";
    if (empty_rows(s) || s.classes <= 0) return;
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        launch_rows<const T*, const int64_t*, const T*, const T*, int64_t, double, T*>(
            what, s, &cross_entropy_backward_kernel<32, T>, &cross_entropy_backward_kernel<1, T>,
            static_cast<const T*>(x), target, static_cast<const T*>(lse), static_cast<const T*>(grad_loss),
            grad_stride, scale, static_cast<T*>(grad_x));
    });
}

}  // namespace mg::kernels::cuda
