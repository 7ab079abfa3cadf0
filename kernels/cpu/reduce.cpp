// CPU reductions: sum, max, min over the reduced dims of ReduceArgs.
//
//   "reference": serial; each output folds its inputs in row-major order.
//   "omp":       the same order per output, outputs split across threads; a
//                reduction to few outputs (a full sum) is cut into fixed chunks of
//                kChunk inputs whose partials are then folded in chunk order. The
//                cut does not depend on the thread count, so neither does the result.
//   "avx2", "avx512" (sum): the same split, but contiguous runs of the innermost reduced
//                dim (a full sum, a row sum, a conv bias gradient's N runs of H*W) are added
//                by sum_runs of kernels/cpu/elementwise_simd.h: vector loads widened into
//                four double accumulators, which the "omp" fold's one serial add chain
//                (4 cycles per element) cannot approach. The runs along the next reduced dim
//                go to one call (its accumulators and one horizontal sum span them all: a
//                call per run cost ~400 cycles on 49-element runs). Runs are cut where the
//                "omp" cut falls, and each group is summed in a fixed order, so the result
//                still ignores the thread count.
// All but the reference fold column reductions ([B, F] -> [F]) 64 outputs at a time
// (reduce_columns), in the reference's order.
// float32 sums accumulate in double: the cost is nil (memory-bound) and a 16M-element
// sum stays accurate to float rounding.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/run_sum.h"
#include "kernels/reduce.h"

namespace mg::kernels {


namespace {

constexpr int64_t kChunk = 1 << 16;

template <class T> struct SumOp {
    using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
    static Acc init() { return 0; }
    static Acc fold(Acc a, T x) { return a + Acc(x); }
    static Acc merge(Acc a, Acc b) { return a + b; }
};
template <class T> struct MaxOp {
    using Acc = T;
    static Acc init() { return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest(); }
    static Acc fold(Acc a, T x) { return (x > a || x != x) ? x : a; }  // NaN propagates
    static Acc merge(Acc a, Acc b) { return fold(a, b); }
};
template <class T> struct MinOp {
    using Acc = T;
    static Acc init() { return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max(); }
    static Acc fold(Acc a, T x) { return (x < a || x != x) ? x : a; }
    static Acc merge(Acc a, Acc b) { return fold(a, b); }
};

// Offset of the input element for the k-th reduced index (row-major over red dims).
inline int64_t red_offset(const ReduceArgs& r, int64_t k) {
    int64_t off = 0;
    for (int d = r.red_ndim - 1; d >= 0; --d) {
        off += (k % r.red_sizes[d]) * r.red_strides[d];
        k /= r.red_sizes[d];
    }
    return off;
}

// Whether a run function was given, decided on the template argument's type: `Run != nullptr`
// is not a constant expression under UBSan (-fno-delete-null-pointer-checks: a function
// might live at address 0), which broke the MINIGEN_SANITIZE build.
template <RunSumFn* Run>
constexpr bool kHasRun = !std::is_same_v<std::integral_constant<RunSumFn*, Run>, std::integral_constant<RunSumFn*, nullptr>>;

// Folds n elements p[0], p[s], ...: one at a time, or, for a sum with a run function
// and a contiguous run, the run function's total.
template <class Op, class T, RunSumFn* Run>
typename Op::Acc fold_run(typename Op::Acc acc, const T* p, int64_t n, int64_t s) {
    if constexpr (kHasRun<Run>) {
        if (s == 1) return Op::merge(acc, typename Op::Acc(Run(p, n, 1, 0)));
    }
    for (int64_t k = 0; k < n; ++k) acc = Op::fold(acc, p[k * s]);
    return acc;
}

// Folds reduced indices [begin, end) starting at input base offset `base`.
template <class Op, class T, RunSumFn* Run>
typename Op::Acc fold_range(const ReduceArgs& r, const T* x, int64_t base, int64_t begin, int64_t end) {
    typename Op::Acc acc = Op::init();
    if (r.red_ndim == 1) {
        const int64_t s = r.red_strides[0];
        return fold_run<Op, T, Run>(acc, x + base + begin * s, end - begin, s);
    }
    // Innermost reduced dim as a tight loop.
    const int last = r.red_ndim - 1;
    const int64_t inner = r.red_sizes[last], s = r.red_strides[last];
    const int64_t outer = r.red_sizes[last - 1], outer_stride = r.red_strides[last - 1];
    int64_t k = begin;
    while (k < end) {
        int64_t j = k % inner;
        int64_t off = base + red_offset(r, k - j);
        if constexpr (kHasRun<Run>) {
            // Whole contiguous runs from here along the next reduced dim go to the run
            // function together: one call and one horizontal sum for all of them.
            if (s == 1 && j == 0) {
                const int64_t runs = std::min((end - k) / inner, outer - (k / inner) % outer);
                if (runs >= 1) {
                    acc = Op::merge(acc, typename Op::Acc(Run(x + off, inner, runs, outer_stride)));
                    k += runs * inner;
                    continue;
                }
            }
        }
        int64_t stop = std::min(end, k + (inner - j));
        acc = fold_run<Op, T, Run>(acc, x + off + j * s, stop - k, s);
        k = stop;
    }
    return acc;
}

inline void out_offsets(const ReduceArgs& r, int64_t i, int64_t& out_off, int64_t& in_off) {
    out_off = 0;
    in_off = 0;
    for (int d = r.out_ndim - 1; d >= 0; --d) {
        int64_t idx = i % r.out_sizes[d];
        i /= r.out_sizes[d];
        out_off += idx * r.out_strides[d];
        in_off += idx * r.in_strides[d];
    }
}

// Column reductions (a Linear's bias gradient: [B, F] -> [F]): the innermost kept dim is
// contiguous in the input and the output, so kColumns neighbouring outputs are folded
// together, one reduced index at a time, in kColumns accumulators the compiler keeps in
// vector registers. Each output still folds its inputs one by one in row-major order of the
// reduced dims, exactly as fold_range does: the same bits as the "reference" variant.
constexpr int64_t kColumns = 64;

inline bool column_layout(const ReduceArgs& r) {
    return r.out_ndim >= 1 && r.red_ndim >= 1 && r.in_strides[r.out_ndim - 1] == 1 &&
           r.out_strides[r.out_ndim - 1] == 1 && r.out_sizes[r.out_ndim - 1] >= 8;
}

template <class Op, class T, bool Parallel>
void reduce_columns(const ReduceArgs& r, T* o, const T* x) {
    const int64_t width = r.out_sizes[r.out_ndim - 1];
    const int64_t groups = r.out_numel / width;  // outputs that differ in the outer kept dims
    const int64_t blocks_per_group = (width + kColumns - 1) / kColumns;
    const int64_t blocks = groups * blocks_per_group, n_red = r.red_numel;
#pragma omp parallel for schedule(static) if (Parallel && r.out_numel * n_red >= (1 << 15) && blocks >= 2)
    for (int64_t b = 0; b < blocks; ++b) {
        const int64_t g = b / blocks_per_group, j0 = (b % blocks_per_group) * kColumns;
        const int64_t cols = std::min(kColumns, width - j0);
        int64_t oo, io;
        out_offsets(r, g * width + j0, oo, io);
        typename Op::Acc acc[kColumns];
        for (int64_t j = 0; j < kColumns; ++j) acc[j] = Op::init();
        for (int64_t k = 0; k < n_red; ++k) {
            const T* row = x + io + red_offset(r, k);
            if (cols == kColumns) {
                for (int64_t j = 0; j < kColumns; ++j) acc[j] = Op::fold(acc[j], row[j]);
            } else {
                for (int64_t j = 0; j < cols; ++j) acc[j] = Op::fold(acc[j], row[j]);
            }
        }
        for (int64_t j = 0; j < cols; ++j) o[oo + j] = T(acc[j]);
    }
}

template <class Op, class T, bool Parallel, RunSumFn* Run = nullptr>
void reduce(const ReduceArgs& r, void* out, const void* in) {
    T* o = static_cast<T*>(out);
    const T* x = static_cast<const T*>(in);
    const int64_t n_out = r.out_numel, n_red = r.red_numel;
    if constexpr (Parallel) {  // the reference keeps its one plain loop per output
        if (column_layout(r)) return reduce_columns<Op, T, Parallel>(r, o, x);
    }
    if (Parallel && n_out < 64 && n_red >= 4 * kChunk) {
        // Few outputs, long reductions: fixed chunks, then an ordered merge.
        const int64_t chunks = (n_red + kChunk - 1) / kChunk;
        std::vector<typename Op::Acc> part(size_t(n_out * chunks));
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t i = 0; i < n_out; ++i)
            for (int64_t c = 0; c < chunks; ++c) {
                int64_t oo, io;
                out_offsets(r, i, oo, io);
                part[size_t(i * chunks + c)] =
                    fold_range<Op, T, Run>(r, x, io, c * kChunk, std::min(n_red, (c + 1) * kChunk));
            }
        for (int64_t i = 0; i < n_out; ++i) {
            typename Op::Acc acc = part[size_t(i * chunks)];
            for (int64_t c = 1; c < chunks; ++c) acc = Op::merge(acc, part[size_t(i * chunks + c)]);
            int64_t oo, io;
            out_offsets(r, i, oo, io);
            o[oo] = T(acc);
        }
        return;
    }
#pragma omp parallel for schedule(static) if (Parallel && n_out * n_red >= (1 << 15) && n_out >= 2)
    for (int64_t i = 0; i < n_out; ++i) {
        int64_t oo, io;
        out_offsets(r, i, oo, io);
        o[oo] = T(fold_range<Op, T, Run>(r, x, io, 0, n_red));
    }
}

template <template <class> class Op>
void add_reduce(OpTable<ReduceFn>& table) {
    table.add("reference", Device::CPU, DType::Float32, &reduce<Op<float>, float, false>, 0, "serial, fixed order");
    table.add("reference", Device::CPU, DType::Float64, &reduce<Op<double>, double, false>, 0, "serial, fixed order");
    table.add("reference", Device::CPU, DType::Int64, &reduce<Op<int64_t>, int64_t, false>, 0, "serial, fixed order");
    table.add("omp", Device::CPU, DType::Float32, &reduce<Op<float>, float, true>, 10, "outputs or fixed 64k chunks across threads");
    table.add("omp", Device::CPU, DType::Float64, &reduce<Op<double>, double, true>, 10, "outputs or fixed 64k chunks across threads");
}

}  // namespace

void register_cpu_reduce() {
    add_reduce<SumOp>(sum_table());
#if defined(__x86_64__)
    constexpr auto kCpu = Device::CPU;
    if (cpu::has_avx2_fma()) {
        const char* doc = "omp's split, contiguous runs in 4 double vector accumulators (AVX2)";
        sum_table().add("avx2", kCpu, DType::Float32, &reduce<SumOp<float>, float, true, &sum_runs_avx2_f32>, 15, doc);
        sum_table().add("avx2", kCpu, DType::Float64, &reduce<SumOp<double>, double, true, &sum_runs_avx2_f64>, 15, doc);
    }
    if (cpu::has_avx512()) {
        const char* doc = "omp's split, contiguous runs in 4 double vector accumulators (AVX-512)";
        sum_table().add("avx512", kCpu, DType::Float32, &reduce<SumOp<float>, float, true, &sum_runs_avx512_f32>, 20,
                        doc);
        sum_table().add("avx512", kCpu, DType::Float64, &reduce<SumOp<double>, double, true, &sum_runs_avx512_f64>, 20,
                        doc);
    }
#endif
    add_reduce<MaxOp>(max_table());
    add_reduce<MinOp>(min_table());
}

}  // namespace mg::kernels
