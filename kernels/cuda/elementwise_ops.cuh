// The per-element code of the elementwise kernels (elementwise.cu): one functor per op
// and the decoding of a linear index into operand offsets. Host and device, so that
// the same code can be checked against the CPU reference without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// ---- op functors ------------------------------------------------------------------

template <UnaryOp op, class T>
struct UnaryFunctor {
    T a, b;  // Scalars, in the op's type
    MG_HOST_DEVICE T operator()(T x) const {
        if constexpr (op == UnaryOp::Neg) return -x;
        else if constexpr (op == UnaryOp::Exp) return dev_exp(x);
        else if constexpr (op == UnaryOp::Log) return dev_log(x);
        else if constexpr (op == UnaryOp::Sqrt) return dev_sqrt(x);
        else if constexpr (op == UnaryOp::Abs) return dev_abs(x);
        else if constexpr (op == UnaryOp::Sign) return T((x > T(0)) - (x < T(0)));
        else if constexpr (op == UnaryOp::Tanh) return dev_tanh(x);
        else if constexpr (op == UnaryOp::Sin) return dev_sin(x);
        else if constexpr (op == UnaryOp::Cos) return dev_cos(x);
        else if constexpr (op == UnaryOp::Sigmoid) {  // two branches: exp never overflows
            if (x >= T(0)) return T(1) / (T(1) + dev_exp(-x));
            const T e = dev_exp(x);
            return e / (T(1) + e);
        } else if constexpr (op == UnaryOp::Relu) return x > T(0) ? x : T(0);
        else if constexpr (op == UnaryOp::LeakyRelu) return x > T(0) ? x : a * x;
        else if constexpr (op == UnaryOp::Elu) return x > T(0) ? x : a * dev_expm1(x);
        else if constexpr (op == UnaryOp::Softplus)  // max(x,0) + log(1 + e^-|x|): no overflow
            return (x > T(0) ? x : T(0)) + dev_log1p(dev_exp(-dev_abs(x)));
        else if constexpr (op == UnaryOp::Erf) return dev_erf(x);
        else if constexpr (op == UnaryOp::Gelu) return T(0.5) * x * (T(1) + dev_erf(x * T(0.70710678118654752440)));
        else if constexpr (op == UnaryOp::Clamp) {  // std::min(std::max(x, a), b)
            const T low = x < a ? a : x;
            return b < low ? b : low;
        } else if constexpr (op == UnaryOp::PowScalar) return a == T(2) ? x * x : dev_pow(x, a);
        else return a * x + b;  // Affine
    }
};

// Arithmetic ops return T, compare ops uint8 0/1. maximum/minimum propagate NaN and
// prefer the first operand on ties, as the CPU kernels do. The activation backward ops
// keep the CPU's order of operations (x = the saved activation, y = the gradient);
// LeakyReluBackward computes both sides and selects, as the CPU does.
template <BinaryOp op, class T>
struct BinaryFunctor {
    T scalar;  // LeakyReluBackward's slope, in the op's type
    MG_HOST_DEVICE auto operator()(T x, T y) const {
        if constexpr (op == BinaryOp::Add) return T(x + y);
        else if constexpr (op == BinaryOp::Sub) return T(x - y);
        else if constexpr (op == BinaryOp::Mul) return T(x * y);
        else if constexpr (op == BinaryOp::Div) return T(x / y);
        else if constexpr (op == BinaryOp::Pow) return T(dev_pow(x, y));
        else if constexpr (op == BinaryOp::Maximum) return (x >= y || dev_isnan(x)) ? x : y;
        else if constexpr (op == BinaryOp::Minimum) return (x <= y || dev_isnan(x)) ? x : y;
        else if constexpr (op == BinaryOp::LeakyReluBackward) {
            const T scaled = scalar * y;
            return x > T(0) ? y : scaled;
        } else if constexpr (op == BinaryOp::TanhBackward) return T(y * (T(1) - x * x));
        else if constexpr (op == BinaryOp::SigmoidBackward) return T(y * (x * (T(1) - x)));
        else if constexpr (op == BinaryOp::Eq) return uint8_t(x == y);
        else if constexpr (op == BinaryOp::Ne) return uint8_t(x != y);
        else if constexpr (op == BinaryOp::Gt) return uint8_t(x > y);
        else if constexpr (op == BinaryOp::Ge) return uint8_t(x >= y);
        else if constexpr (op == BinaryOp::Lt) return uint8_t(x < y);
        else return uint8_t(x <= y);  // Le
    }
};

constexpr bool is_compare(BinaryOp op) { return op >= BinaryOp::Eq; }
// No integer version: division, pow and the activation backward ops.
constexpr bool is_float_only(BinaryOp op) {
    return op == BinaryOp::Div || op == BinaryOp::Pow || op == BinaryOp::LeakyReluBackward ||
           op == BinaryOp::TanhBackward || op == BinaryOp::SigmoidBackward;
}

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
