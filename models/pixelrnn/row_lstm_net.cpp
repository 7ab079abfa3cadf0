#include "models/pixelrnn/row_lstm_net.h"

#include "core/ops.h"

namespace mg::models::pixelrnn {

RowLstmLayer::RowLstmLayer(int64_t channels_, int64_t hidden_) : channels(channels_), hidden(hidden_) {
    // 1x2 over columns j-1, j: padding one column on both sides gives W+1 outputs, of which
    // the first W are the mask-B 1x3 conv (the right tap is the one dropped).
    input_to_state = register_module("input_to_state",
                                     std::make_shared<nn::Conv2d>(channels, 4 * hidden, Pair(1, 2), 1, Pair(0, 1)));
    state_to_state = register_module("state_to_state",
                                     std::make_shared<nn::Conv2d>(hidden, 4 * hidden, Pair(1, 3), /*stride=*/1,
                                                                  Pair(0, 1), /*dilation=*/1, /*groups=*/1,
                                                                  /*bias=*/false));  // the input's conv has one
    out = register_module("out", std::make_shared<nn::Conv2d>(hidden, channels, 1));
}

Tensor RowLstmLayer::input_gates(const Tensor& x) { return (*input_to_state)(x).slice(3, 0, x.size(3)); }

RowState RowLstmLayer::step(const Tensor& row_gates, const RowState& prev) {
    const int64_t n = row_gates.size(0), w = row_gates.size(3);
    Tensor gates = add(row_gates, (*state_to_state)(prev.h));  // [N, 4h, 1, W]
    gates = gates.reshape({n, 4 * hidden, w}).permute({0, 2, 1}).reshape({n * w, 4 * hidden});
    Tensor hc = lstm_cell(gates, prev.c);  // [2, N*W, h]
    Tensor h = hc.select(0, 0).reshape({n, w, hidden}).permute({0, 2, 1}).unsqueeze(2);  // [N, h, 1, W]
    return {h, hc.select(0, 1)};
}

Tensor RowLstmLayer::residual(const Tensor& x, const Tensor& hs) { return add(x, (*out)(hs)); }

RowState RowLstmLayer::initial_state(int64_t n, int64_t w) const {
    TensorOptions o{input_to_state->weight.dtype(), input_to_state->weight.device()};
    return {zeros({n, hidden, 1, w}, o), zeros({n * w, hidden}, o)};
}

Tensor RowLstmLayer::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == channels, "row-lstm layer: expected [N, {}, H, W], got {}", channels,
             x.shape());
    Tensor gates = input_gates(x);
    RowState state = initial_state(x.size(0), x.size(3));
    std::vector<Tensor> rows;
    for (int64_t r = 0; r < x.size(2); ++r) {
        state = step(gates.slice(2, r, r + 1), state);
        rows.push_back(state.h);
    }
    return residual(x, cat(rows, 2));
}

}  // namespace mg::models::pixelrnn
