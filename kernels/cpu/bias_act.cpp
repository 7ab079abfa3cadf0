// bias + leaky_relu, forward and backward (kernels/bias_act.h).
//
//   "reference": serial loops; gbias folds each channel's values one by one in double.
//   "omp":       rows (i, c) split across threads, in memory order both ways: the backward
//                writes each row's gy, sums it (eight double accumulators, combined in a fixed
//                order) into a per-row partial, then adds each channel's partials in order of
//                i; a Linear's [B, F] (inner = 1) sums columns, 64 channels side by side.
//                Walking channel by channel instead (rows C*H*W apart) made the classifier's
//                backward 1.8x slower (perf, against the GEMM time). Threads only above
//                kBiasActParallelMin values: gan2d's 256 x 128 layers must not pay for a team.
//   "avx2", "avx512" (backward): omp's loops, each row summed by the sum reduction's vector
//                code (sum_runs, kernels/cpu/elementwise_simd.h).
// All give a result that does not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/bias_act.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/run_sum.h"

// No kernel here reads the FP exception flags; without trapping math GCC if-converts and
// vectorises the selects (see elementwise.cpp).
#pragma GCC optimize("no-trapping-math")

namespace mg::kernels {
namespace {

constexpr int64_t kBiasActParallelMin = int64_t(1) << 16;

void check(const char* op, const BiasActShape& s) {
    MG_CHECK(s.outer >= 0 && s.channels >= 0 && s.inner >= 0, "{}: negative size [{}, {}, {}]", op, s.outer,
             s.channels, s.inner);
    MG_CHECK(s.slope >= 0.0, "{}: slope {} must be >= 0 (the backward reads the sign of out)", op, s.slope);
}

// The forward's checked shape and typed pointers: input, bias, output, and the slope.
template <class T>
struct ForwardPointers {
    const T* y;
    const T* b;
    T* o;
    T slope;
};
template <class T>
ForwardPointers<T> forward_pointers(const BiasActShape& s, const void* yv, const void* bv, void* ov) {
    check("bias_act_forward", s);
    return {static_cast<const T*>(yv), static_cast<const T*>(bv), static_cast<T*>(ov), T(s.slope)};
}

template <class T>
void forward_reference(const BiasActShape& s, const void* yv, const void* bv, void* ov) {
    const auto [y, b, o, slope] = forward_pointers<T>(s, yv, bv, ov);
    for (int64_t i = 0; i < s.outer; ++i)
        for (int64_t c = 0; c < s.channels; ++c)
            for (int64_t k = 0; k < s.inner; ++k) {
                const int64_t at = (i * s.channels + c) * s.inner + k;
                const T v = y[at] + b[c];
                o[at] = v > T(0) ? v : slope * v;
            }
}

// The backward's checked shape and typed pointers: output, its gradient, the input's and the
// bias's gradients, and the slope.
template <class T>
struct BackwardPointers {
    const T* o;
    const T* g;
    T* gy;
    T* gb;
    T slope;
};
template <class T>
BackwardPointers<T> backward_pointers(const BiasActShape& s, const void* ov, const void* gv, void* gyv, void* gbv) {
    check("bias_act_backward", s);
    return {static_cast<const T*>(ov), static_cast<const T*>(gv), static_cast<T*>(gyv), static_cast<T*>(gbv),
            T(s.slope)};
}

template <class T>
void backward_reference(const BiasActShape& s, const void* ov, const void* gv, void* gyv, void* gbv) {
    const auto [o, g, gy, gb, slope] = backward_pointers<T>(s, ov, gv, gyv, gbv);
    for (int64_t c = 0; c < s.channels; ++c) {
        double sum = 0.0;
        for (int64_t i = 0; i < s.outer; ++i)
            for (int64_t k = 0; k < s.inner; ++k) {
                const int64_t at = (i * s.channels + c) * s.inner + k;
                gy[at] = o[at] > T(0) ? g[at] : slope * g[at];
                sum += double(gy[at]);
            }
        gb[c] = T(sum);
    }
}

template <class T>
void forward_omp(const BiasActShape& s, const void* yv, const void* bv, void* ov) {
    const auto [y, b, o, slope] = forward_pointers<T>(s, yv, bv, ov);
    const int64_t rows = s.outer * s.channels, n = s.inner;
    if (n == 1) {  // [B, F]: the bias runs along the row
#pragma omp parallel for schedule(static) if (rows >= kBiasActParallelMin)
        for (int64_t i = 0; i < s.outer; ++i) {
            const T* yr = y + i * s.channels;
            T* orow = o + i * s.channels;
            for (int64_t c = 0; c < s.channels; ++c) {
                const T v = yr[c] + b[c];
                orow[c] = v > T(0) ? v : slope * v;
            }
        }
        return;
    }
#pragma omp parallel for schedule(static) if (rows * n >= kBiasActParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        const T bias = b[r % s.channels];
        const T* yr = y + r * n;
        T* orow = o + r * n;
        for (int64_t k = 0; k < n; ++k) {
            const T v = yr[k] + bias;
            orow[k] = v > T(0) ? v : slope * v;
        }
    }
}

// The portable run sum: eight double accumulators per run, combined in a fixed order.
template <class T>
double sum_runs_portable(const void* xv, int64_t n, int64_t runs, int64_t stride) {
    double total = 0.0;
    for (int64_t r = 0; r < runs; ++r) {
        const T* x = static_cast<const T*>(xv) + r * stride;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t k = 0;
        for (; k + 8 <= n; k += 8)
            for (int j = 0; j < 8; ++j) acc[j] += double(x[k + j]);
        for (; k < n; ++k) acc[k % 8] += double(x[k]);
        total += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
    return total;
}

template <class T, RunSumFn* Run>
void backward_omp(const BiasActShape& s, const void* ov, const void* gv, void* gyv, void* gbv) {
    const auto [o, g, gy, gb, slope] = backward_pointers<T>(s, ov, gv, gyv, gbv);
    const int64_t total = s.outer * s.channels * s.inner;
    if (s.inner == 1) {
        // [B, F]: 64 channels at a time, each summed over the rows in order.
        constexpr int64_t kBlock = 64;
        const int64_t blocks = (s.channels + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (total >= kBiasActParallelMin && blocks >= 2)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t c0 = blk * kBlock, width = std::min(kBlock, s.channels - c0);
            double acc[kBlock] = {};
            for (int64_t i = 0; i < s.outer; ++i) {
                const int64_t at = i * s.channels + c0;
                for (int64_t c = 0; c < width; ++c) {
                    const T v = o[at + c] > T(0) ? g[at + c] : slope * g[at + c];
                    gy[at + c] = v;
                    acc[c] += double(v);
                }
            }
            for (int64_t c = 0; c < width; ++c) gb[c0 + c] = T(acc[c]);
        }
        return;
    }
    // Rows (i, c) in memory order, so the three streams run straight through: each row's gy,
    // then its sum into sums[i][c]; then per channel the rows' sums in order of i.
    const int64_t rows = s.outer * s.channels;
    std::vector<double> sums(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (total >= kBiasActParallelMin && rows >= 2)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = r * s.inner;
        for (int64_t k = 0; k < s.inner; ++k) gy[at + k] = o[at + k] > T(0) ? g[at + k] : slope * g[at + k];
        sums[size_t(r)] = Run(gy + at, s.inner, 1, 0);
    }
    for (int64_t c = 0; c < s.channels; ++c) {
        double sum = 0.0;
        for (int64_t i = 0; i < s.outer; ++i) sum += sums[size_t(i * s.channels + c)];
        gb[c] = T(sum);
    }
}

template <class T>
void add_dtype(DType t) {
    bias_act_forward_table().add("reference", Device::CPU, t, &forward_reference<T>, 0, "serial loops");
    bias_act_backward_table().add("reference", Device::CPU, t, &backward_reference<T>, 0,
                                  "serial loops, each channel folded in order in double");
    bias_act_forward_table().add("omp", Device::CPU, t, &forward_omp<T>, 10,
                                 "vectorised rows, threads over rows above 64k values");
    bias_act_backward_table().add("omp", Device::CPU, t, &backward_omp<T, &sum_runs_portable<T>>, 10,
                                  "vectorised rows, 8 double accumulators per row, threads over channels");
}

}  // namespace

void register_cpu_bias_act() {
    add_dtype<float>(DType::Float32);
    add_dtype<double>(DType::Float64);
#if defined(__x86_64__)
    // The same loops with the channel sums in the sum reduction's vector code.
    constexpr auto kCpu = Device::CPU;
    if (cpu::has_avx2_fma()) {
        const char* doc = "omp's loops, channel sums in 4 double vector accumulators (AVX2)";
        bias_act_backward_table().add("avx2", kCpu, DType::Float32, &backward_omp<float, &sum_runs_avx2_f32>, 15, doc);
        bias_act_backward_table().add("avx2", kCpu, DType::Float64, &backward_omp<double, &sum_runs_avx2_f64>, 15, doc);
    }
    if (cpu::has_avx512()) {
        const char* doc = "omp's loops, channel sums in 4 double vector accumulators (AVX-512)";
        bias_act_backward_table().add("avx512", kCpu, DType::Float32, &backward_omp<float, &sum_runs_avx512_f32>, 20,
                                      doc);
        bias_act_backward_table().add("avx512", kCpu, DType::Float64, &backward_omp<double, &sum_runs_avx512_f64>, 20,
                                      doc);
    }
#endif
}

}  // namespace mg::kernels
