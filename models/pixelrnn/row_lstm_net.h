// PixelRNN's Row LSTM network (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
// section 3.1), for grey images: the skeleton of pixelrnn_net.h (7x7 mask-A conv, layers,
// head) with Row LSTM layers.
//
// One Row LSTM layer, hidden size h, over its input x [N, C, H, W]:
//   input-to-state  a 1x3 mask-B conv of x: output column j sees columns j-1 and j of its
//                   own row (written as a 1x2 conv over x padded one column on the left):
//                   gates_in [N, 4h, H, W], one conv for all rows at once
//   state-to-state  a 1x3 conv over the previous row's hidden state h_{r-1} [N, h, 1, W]
//   row r           lstm_cell(gates_in[r] + state_to_state(h_{r-1}), c_{r-1}), the whole row
//                   at once (h_{-1} = c_{-1} = 0), top to bottom
// Output pixel (r, c) thus sees a triangle above it: row r-1 up to column c+1 (then r-2 up
// to c+2, ...), and row r left of c. Mask A in the first layer keeps the pixel itself out;
// mask B later lets column j see the layer below at column j, already causal.
#pragma once

#include <memory>

#include "core/nn/conv.h"
#include "core/nn/module.h"
#include "models/pixelrnn/pixelrnn_net.h"

namespace mg::models::pixelrnn {

using RowLstmShape = PixelRnnShape;

// One layer's state between rows: h [N, h, 1, W] and c [N*W, h] (lstm_cell's layout,
// position n*W + j).
using RowState = LstmState;

class RowLstmLayer : public nn::Module {
public:
    static constexpr const char* kModel = "row-lstm";

    RowLstmLayer(int64_t channels, int64_t hidden);

    // x [N, C, H, W] -> gates_in [N, 4h, H, W]: the mask-B 1x3 input-to-state conv.
    Tensor input_gates(const Tensor& x);
    // One row: gates_in of row r [N, 4h, 1, W] and the state after row r-1 -> the state after row r.
    RowState step(const Tensor& row_gates, const RowState& prev);
    // x [N, C, H, W] and the rows' hidden states [N, h, H, W] -> x + 1x1 conv(h).
    Tensor residual(const Tensor& x, const Tensor& hs);
    // x [N, C, H, W] -> [N, C, H, W], all rows.
    Tensor forward(const Tensor& x) override;
    // The zero state before row 0, for n images of width w.
    RowState initial_state(int64_t n, int64_t w) const;

    const int64_t channels, hidden;
    std::shared_ptr<nn::Conv2d> input_to_state, state_to_state, out;
};

using RowLstmNet = PixelRnnNet<RowLstmLayer>;

}  // namespace mg::models::pixelrnn
