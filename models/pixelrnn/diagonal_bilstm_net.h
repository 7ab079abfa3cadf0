// PixelRNN's Diagonal BiLSTM network (van den Oord et al. 2016, "Pixel Recurrent Neural
// Networks", section 3.2), for grey images: the skeleton of pixelrnn_net.h (7x7 mask-A conv,
// layers, head) with Diagonal BiLSTM layers.
//
// One layer, hidden size h per direction, over its input x [N, C, H, W]:
//   input-to-state  a 1x1 conv of x (mask B: a 1x1 conv sees only its own position, which
//                   the layer below has made causal) -> 4h gates for each direction, [N, 8h, H, W];
//                   a 1x1 conv commutes with the skew, so it runs before it: on H*W positions
//                   instead of H*(W+H-1), and the skew's padding then holds zero gates
//   skew            [N, 8h, H, W] -> [N, 8h, H, W+H-1], row i shifted right by i: column k of
//                   the skewed map is the image's diagonal i + j = k
//   state-to-state  column k's gates += a 2x1 conv over column k-1's hidden state [N, 2h, H, 1]:
//                   row i sees rows i-1 and i there, i.e. the pixel above (i-1, j) and the
//                   pixel left (i, j-1); a whole diagonal at once, left to right
//   cell            lstm_cell, then unskew: the hidden states [N, h, H, W]
//   right-to-left   the same on the horizontally flipped map (its own weights), flipped back:
//                   its state at (i, j) has seen (i, j+1 ..), the future of row i. Shifted
//                   down by one row, (i, j) receives the state of (i-1, j), which has seen
//                   rows <= i-1 from column j rightwards, all before (i, j)
//   output          x + 1x1 conv(h_left_to_right + shift_down(h_right_to_left))
// Left to right, (i, j) sees every pixel (i', j') with i' <= i, j' <= j (its own through mask
// B only, so never the image's pixel (i, j)); the shifted right-to-left pass adds rows < i
// from column j on. One layer thus covers the whole context but one pixel: every pixel
// before (i, j) except (i-1, W-1) when j < W - 4, which no feature of row i-1 contains (the
// mask-A conv hides a pixel from its own position) and the 7x7 conv puts only into row i's
// features from column W - 4 on (docs/pixelrnn.md).
//
// Padding: left of the image (j < 0) the skewed gates are 0 and the states start at 0, so
// the states stay exactly 0 there (lstm_cell(0, 0) = (0, 0)); right of it (j >= W) they are
// computed but never read back.
#pragma once

#include <memory>

#include "core/nn/conv.h"
#include "core/nn/module.h"
#include "models/pixelrnn/pixelrnn_net.h"

namespace mg::models::pixelrnn {

class DiagonalBiLstmLayer : public nn::Module {
public:
    static constexpr const char* kModel = "diagonal-bilstm";

    DiagonalBiLstmLayer(int64_t channels, int64_t hidden);

    // One column of the skewed map: its gates [N, 8h, H, 1] and the state of the column
    // before -> this column's state, both directions: h [N, 2h, H, 1] (left-to-right's h
    // first) and c [N*2*H, h] (lstm_cell's layout, position (n*2 + direction)*H + i).
    LstmState step(const Tensor& column_gates, const LstmState& prev);
    // x [N, C, H, W] -> the hidden states of both directions [N, 2h, H, W] (left-to-right's
    // h first; right-to-left's in image columns, not yet shifted down).
    Tensor hidden_states(const Tensor& x);
    // x [N, C, H, W] -> [N, C, H, W].
    Tensor forward(const Tensor& x) override;

    const int64_t channels, hidden;
    // input_to_state: C -> 8h, 1x1 (left-to-right's gates first, each i, f, g, o);
    // state_to_state: 2h -> 8h, 2x1, groups 2 (each direction its own weights), no bias (the
    // input's conv has one); out: h -> C, 1x1.
    std::shared_ptr<nn::Conv2d> input_to_state, state_to_state, out;
};

using DiagonalBiLstmNet = PixelRnnNet<DiagonalBiLstmLayer>;

}  // namespace mg::models::pixelrnn
