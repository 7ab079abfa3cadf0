#include "models/pixelrnn/diagonal_bilstm_net.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/ops.h"

namespace mg::models::pixelrnn {

namespace {

// x [..., W] with its last dimension reversed: x times the exchange matrix J (J[k][j] = 1
// where k + j = W - 1), exact (one product by 1 per output, the rest zeros) and its own
// backward; one GEMM over all rows, cheaper than the column loop it feeds.
Tensor flip_columns(const Tensor& x) {
    const int64_t w = x.size(x.dim() - 1);
    std::vector<float> exchange(size_t(w * w), 0.0f);
    for (int64_t j = 0; j < w; ++j) exchange[size_t((w - 1 - j) * w + j)] = 1.0f;
    Tensor j = from_vector(exchange, Shape{w, w}).to(x.dtype()).to(x.device());
    return matmul(x.reshape({-1, w}), j).reshape(x.shape());
}

// x [N, C, H, W] moved down one row: row i becomes row i+1, row 0 zeros.
Tensor shift_down(const Tensor& x) {
    if (x.size(2) == 1) return zeros_like(x);
    return cat({zeros_like(x.slice(2, 0, 1)), x.slice(2, 0, x.size(2) - 1)}, 2);
}

}  // namespace

DiagonalBiLstmLayer::DiagonalBiLstmLayer(int64_t channels_, int64_t hidden_) : channels(channels_), hidden(hidden_) {
    input_to_state = register_module("input_to_state", std::make_shared<nn::Conv2d>(channels, 8 * hidden, 1));
    // 2x1 over rows i-1, i of the previous column: padding one row on both sides gives H+1
    // outputs, of which the first H are the ones wanted.
    state_to_state = register_module("state_to_state",
                                     std::make_shared<nn::Conv2d>(2 * hidden, 8 * hidden, Pair(2, 1), /*stride=*/1,
                                                                  Pair(1, 0), /*dilation=*/1, /*groups=*/2,
                                                                  /*bias=*/false));
    out = register_module("out", std::make_shared<nn::Conv2d>(hidden, channels, 1));
}

LstmState DiagonalBiLstmLayer::step(const Tensor& column_gates, const LstmState& prev) {
    const int64_t n = column_gates.size(0), h = column_gates.size(2);
    Tensor gates = add(column_gates, (*state_to_state)(prev.h).slice(2, 0, h));  // [N, 8h, H, 1]
    gates = gates.reshape({n, 2, 4 * hidden, h}).permute({0, 1, 3, 2}).reshape({n * 2 * h, 4 * hidden});
    Tensor hc = lstm_cell(gates, prev.c);  // [2, N*2*H, h]
    Tensor hs = hc.select(0, 0).reshape({n, 2, h, hidden}).permute({0, 1, 3, 2}).reshape({n, 2 * hidden, h, 1});
    return {hs, hc.select(0, 1)};
}

Tensor DiagonalBiLstmLayer::hidden_states(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == channels, "diagonal-bilstm layer: expected [N, {}, H, W], got {}",
             channels, x.shape());
    const int64_t n = x.size(0), h = x.size(2);
    Tensor gates = (*input_to_state)(x);  // [N, 8h, H, W]
    gates = skew(cat({gates.slice(1, 0, 4 * hidden), flip_columns(gates.slice(1, 4 * hidden, 8 * hidden))}, 1));
    TensorOptions o{gates.dtype(), gates.device()};
    LstmState state{zeros({n, 2 * hidden, h, 1}, o), zeros({n * 2 * h, hidden}, o)};
    // The columns one after another in memory, [W+H-1, N, 8h, H], cut in blocks of about
    // sqrt(W+H-1) columns, then each block into columns: a slice's backward writes a zero
    // tensor the size of what it was cut from, so cutting every column from the whole map
    // would cost W+H-1 gradients of the whole map (most of the step), blocks about 2 sqrt(W+H-1).
    const Tensor by_column = gates.permute({3, 0, 1, 2}).contiguous();
    const int64_t count = by_column.size(0), block = int64_t(std::ceil(std::sqrt(double(count))));
    std::vector<Tensor> columns;
    for (int64_t start = 0; start < count; start += block) {
        const Tensor cut = by_column.slice(0, start, std::min(start + block, count));
        for (int64_t k = 0; k < cut.size(0); ++k) {
            state = step(cut.select(0, k).unsqueeze(3), state);
            columns.push_back(state.h);
        }
    }
    Tensor hs = unskew(cat(columns, 3));  // [N, 2h, H, W]
    return cat({hs.slice(1, 0, hidden), flip_columns(hs.slice(1, hidden, 2 * hidden))}, 1);
}

Tensor DiagonalBiLstmLayer::forward(const Tensor& x) {
    Tensor hs = hidden_states(x);
    return add(x, (*out)(add(hs.slice(1, 0, hidden), shift_down(hs.slice(1, hidden, 2 * hidden)))));
}

}  // namespace mg::models::pixelrnn
