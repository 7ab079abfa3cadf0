// The per-element code of the elementwise kernels (elementwise.cu): one functor per op
// and the decoding of a linear index into operand offsets. Host and device, so that
// the same code can be checked against the CPU reference without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- op functors: the shared math of kernels/elementwise_ops.h ---------------------------

// y = Op(x; a, b)
template <class Op, class T>
struct UnaryFunctor {
    ew::Params<T> p;  // Scalars, in the op's type
    MG_HOST_DEVICE T operator()(T x) const { return Op{}(x, p); }
};

// T for arithmetic ops, uint8 0/1 for comparisons; the ops with scalars take p.
template <class Op, class T>
struct BinaryFunctor {
    ew::Params<T> p;
    MG_HOST_DEVICE auto operator()(T x, T y) const {
        if constexpr (takes_params) return Op{}(x, y, p);
        else return Op{}(x, y);
    }
    static constexpr bool takes_params = std::is_invocable_v<Op, T, T, ew::Params<T>>;
};

template <class T>
struct WhereFunctor {
    MG_HOST_DEVICE T operator()(uint8_t c, T x, T y) const { return c ? x : y; }
};

template <class Out, class In>
struct CastFunctor {
    MG_HOST_DEVICE Out operator()(In x) const { return static_cast<Out>(x); }
};

template <class T>
struct FillFunctor {
    T value;
    MG_HOST_DEVICE T operator()() const { return value; }
};

// Offsets of every operand for linear element i (the last dimension moves fastest).
template <class Index, int N>
MG_HOST_DEVICE void decode(const Iter& it, Index i, Index (&off)[N]) {
    MG_UNROLL
    for (int o = 0; o < N; ++o) off[o] = 0;
    for (int d = it.ndim - 1; d >= 0; --d) {
        Index size = Index(it.sizes[d]);
        Index coord = i % size;
        i /= size;
        MG_UNROLL
        for (int o = 0; o < N; ++o) off[o] += coord * Index(it.strides[o][d]);
    }
}

template <class Index, class Op, class Out, class... In, size_t... K>
MG_HOST_DEVICE void apply_at(const Op& op, const Index* off, std::index_sequence<K...>, Out* out, const In*... in) {
    out[off[0]] = op(in[off[K + 1]]...);
}

}  // namespace mg::kernels::cuda
