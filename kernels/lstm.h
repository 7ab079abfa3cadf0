// PixelRNN's kernels: the fused LSTM cell (Row LSTM, Diagonal BiLSTM) and the skew of the
// Diagonal BiLSTM's feature maps.
//
// lstm_cell: the pointwise part of one LSTM step; the gates' GEMMs stay outside (matmuls or
// convs). Per row n and unit j, with PyTorch's gate order (i, f, g, o) along gates' columns:
//   i = sigmoid(gates[n, j]),       f = sigmoid(gates[n, H + j]),
//   g = tanh(gates[n, 2H + j]),     o = sigmoid(gates[n, 3H + j]),
//   c = f * c_prev + i * g,          h = o * tanh(c);     out[0, n, j] = h, out[1, n, j] = c.
// The backward recomputes the activations from gates and c_prev (nothing saved but the
// inputs) and writes the gates' and c_prev's gradients in one pass:
//   dc = grad_c + grad_h * o * (1 - tanh(c)^2)
//   d_i = dc * g * i (1 - i),   d_f = dc * c_prev * f (1 - f),   d_g = dc * i * (1 - g^2),
//   d_o = grad_h * tanh(c) * o (1 - o),   d_c_prev = dc * f.
// The formulas are written once (ew::LstmCell below) and run on host scalars, on SIMD lanes
// (kernels/cpu/lstm_simd.h) and on the device.
//
// skew / unskew: x [planes, h, w] -> y [planes, h, w + h - 1], y[p, i, i + j] = x[p, i, j] and
// zero elsewhere; unskew reads those positions back. Each is the other's adjoint.
//
// Variants: "reference" (serial; the cell in double with libm), "omp" (rows across threads,
// in the tensor's dtype), "avx2" / "avx512" (the cell, float32: vector exp/tanh).
#pragma once

#include "kernels/args/lstm.h"
#include "kernels/elementwise_ops.h"
#include "kernels/registry.h"

namespace mg::kernels {

// gates [n, 4H], c_prev [n, H] -> out [2, n, H] (h, c).
using LstmCellForwardFn = void(const LstmCellShape& s, const void* gates, const void* c_prev, void* out);
// grad_out [2, n, H] (grad_h, grad_c) -> grad_gates [n, 4H], grad_c_prev [n, H].
using LstmCellBackwardFn = void(const LstmCellShape& s, const void* gates, const void* c_prev, const void* grad_out,
                                void* grad_gates, void* grad_c_prev);
// skew: x [planes, h, w] -> y [planes, h, w + h - 1]; unskew: the reverse.
using SkewFn = void(const SkewShape& s, const void* in, void* out);

MG_KERNEL_TABLE(lstm_cell_forward, LstmCellForwardFn)
MG_KERNEL_TABLE(lstm_cell_backward, LstmCellBackwardFn)
MG_KERNEL_TABLE(skew, SkewFn)
MG_KERNEL_TABLE(unskew, SkewFn)

// The operands typed, as every variant unpacks them: out [2, n, H] is h then c.
template <class T> struct LstmCellForwardOperands {
    const T *gates, *c_prev;
    T *h, *c;
    LstmCellForwardOperands(const LstmCellShape& s, const void* gates_, const void* c_prev_, void* out)
        : gates(static_cast<const T*>(gates_)), c_prev(static_cast<const T*>(c_prev_)), h(static_cast<T*>(out)),
          c(h + s.n * s.hidden) {}
};
template <class T> struct LstmCellBackwardOperands {
    const T *gates, *c_prev, *grad_h, *grad_c;
    T *grad_gates, *grad_c_prev;
    LstmCellBackwardOperands(const LstmCellShape& s, const void* gates_, const void* c_prev_, const void* grad_out,
                             void* grad_gates_, void* grad_c_prev_)
        : gates(static_cast<const T*>(gates_)), c_prev(static_cast<const T*>(c_prev_)),
          grad_h(static_cast<const T*>(grad_out)), grad_c(grad_h + s.n * s.hidden),
          grad_gates(static_cast<T*>(grad_gates_)), grad_c_prev(static_cast<T*>(grad_c_prev_)) {}
};

namespace ew {

// The cell's formulas on one unit, for T a scalar or simd::Vec (the math vocabulary of
// elementwise_ops.h: sigmoid as ew::Sigmoid, tanh).
struct LstmCell {
    template <class T> MG_HOST_DEVICE static T sigmoid(T x) { return Sigmoid{}(x, Params<T>{T(0), T(0)}); }

    template <class T> MG_HOST_DEVICE static void forward(T gi, T gf, T gg, T go, T c_prev, T& h, T& c) {
        const T i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go);
        c = f * c_prev + i * g;
        h = o * tanh(c);
    }
    // d[0..3]: the gradients of the gates (i, f, g, o); d_c_prev: of c_prev.
    template <class T>
    MG_HOST_DEVICE static void backward(T gi, T gf, T gg, T go, T c_prev, T grad_h, T grad_c, T (&d)[4],
                                        T& d_c_prev) {
        const T i = sigmoid(gi), f = sigmoid(gf), g = tanh(gg), o = sigmoid(go);
        const T tc = tanh(f * c_prev + i * g);
        const T dc = grad_c + grad_h * o * (T(1) - tc * tc);
        d[0] = dc * g * i * (T(1) - i);
        d[1] = dc * c_prev * f * (T(1) - f);
        d[2] = dc * i * (T(1) - g * g);
        d[3] = grad_h * tc * o * (T(1) - o);
        d_c_prev = dc * f;
    }
};

}  // namespace ew
}  // namespace mg::kernels
