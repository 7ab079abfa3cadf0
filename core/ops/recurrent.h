// PixelRNN's ops (core/ops/recurrent.cpp): the fused LSTM cell and Diagonal BiLSTM's skew.
// Included by core/ops.h; part of the functional API.
#pragma once

#include "core/tensor.h"

namespace mg {

// ---- PixelRNN: the LSTM cell and the skew (core/ops/recurrent.cpp) ----------------------
// One LSTM step's pointwise part (the gates' matmuls or convs stay outside):
//   gates [N, 4H] in PyTorch's order (i, f, g, o), c_prev [N, H] ->
//   [2, N, H]: index 0 is h = sigmoid(o) * tanh(c), index 1 is c = sigmoid(f) * c_prev + sigmoid(i) * tanh(g).
// One tensor because an autograd node has one output; its two halves, hc.select(0, 0) and
// hc.select(0, 1), are contiguous [N, H] views, both differentiable. One fused kernel forward,
// one backward (kernels/lstm.h).
Tensor lstm_cell(const Tensor& gates, const Tensor& c_prev);
// Diagonal BiLSTM's skew of x [N, C, H, W] -> [N, C, H, W + H - 1]: row i shifted right by i,
// zeros elsewhere, so that the image's diagonals become columns (PixelRNN, 2016, figure 3).
Tensor skew(const Tensor& x);
// The inverse of skew: x [N, C, H, W'] -> [N, C, H, W' - H + 1], row i read from column i on.
// Each is the other's backward (skew's zeros are never read back).
Tensor unskew(const Tensor& x);

}  // namespace mg
