// The per-element code of the reduction kernels (reduce.cu), host and device: see
// device_math.cuh for why.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// The fold of one op: its accumulator type (double for float sums, as on the CPU; int64
// sums stay exact in int64), identity and combine(a, b), b being the later element or
// partial. max/min propagate NaN.
template <ReduceOp op, class T>
struct Fold {
    using Acc = std::conditional_t<op == ReduceOp::Sum, std::conditional_t<std::is_integral_v<T>, int64_t, double>, T>;
    static MG_HOST_DEVICE Acc identity() {
        if constexpr (op == ReduceOp::Sum) return Acc(0);
        else if constexpr (std::is_integral_v<T>) return op == ReduceOp::Max ? INT64_MIN : INT64_MAX;
        else if constexpr (op == ReduceOp::Max) return -INFINITY;
        else return INFINITY;
    }
    MG_HOST_DEVICE Acc operator()(Acc a, Acc b) const {
        if constexpr (op == ReduceOp::Sum) return a + b;
        // b wins only when strictly better or NaN: ties keep a, as the CPU does
        else if constexpr (op == ReduceOp::Max) return (b > a || dev_isnan(b)) ? b : a;
        else return (b < a || dev_isnan(b)) ? b : a;
    }
};

// Where output o lives, and where its first input element is.
struct OutputPlace {
    int64_t out = 0, in = 0;
};
MG_HOST_DEVICE OutputPlace place_of(const ReduceArgs& r, int64_t o) {
    OutputPlace p;
    for (int d = r.out_ndim - 1; d >= 0; --d) {
        int64_t coord = o % r.out_sizes[d];
        o /= r.out_sizes[d];
        p.out += coord * r.out_strides[d];
        p.in += coord * r.in_strides[d];
    }
    return p;
}

// Offset (from the output's first input element) of reduced element e.
MG_HOST_DEVICE int64_t reduced_offset(const ReduceArgs& r, int64_t e) {
    if (r.red_ndim == 1) return e * r.red_strides[0];
    int64_t off = 0;
    for (int d = r.red_ndim - 1; d >= 0; --d) {
        off += (e % r.red_sizes[d]) * r.red_strides[d];
        e /= r.red_sizes[d];
    }
    return off;
}

// Output o folded by one thread, its elements in order (thread_per_output).
template <ReduceOp op, class T>
MG_HOST_DEVICE void reduce_output_in_order(const ReduceArgs& r, T* out, const T* in, int64_t o) {
    Fold<op, T> fold;
    const OutputPlace p = place_of(r, o);
    auto acc = fold.identity();
    for (int64_t e = 0; e < r.red_numel; ++e) acc = fold(acc, in[p.in + reduced_offset(r, e)]);
    out[p.out] = T(acc);
}

}  // namespace mg::kernels::cuda
