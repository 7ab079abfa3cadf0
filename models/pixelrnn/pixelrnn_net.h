// The skeleton both PixelRNNs share (van den Oord et al. 2016, "Pixel Recurrent Neural
// Networks"), for grey images; only the recurrent layer differs (row_lstm_net.h,
// diagonal_bilstm_net.h):
//
//   x [N, 1, H, W] in [0, 1]
//     └─ 7x7 masked conv, mask A (1 -> C)                        [N, C, H, W]
//        layers x Layer(C, h): x -> x + 1x1 conv(its hidden states)   (the residual)
//        ReLU ─► 1x1 conv (C -> head) ─► ReLU ─► 1x1 conv (head -> 256)   logits [N, 256, H, W]
//
// Layer: an nn::Module constructed as Layer(channels, hidden), [N, C, H, W] -> [N, C, H, W],
// with a static kModel naming the model in errors. Instantiated for RowLstmLayer and
// DiagonalBiLstmLayer (pixelrnn_net.cpp).
#pragma once

#include <memory>
#include <vector>

#include "core/nn/conv.h"
#include "core/nn/module.h"
#include "models/pixelcnn/masked_conv.h"

namespace mg::models::pixelrnn {

struct PixelRnnShape {
    int64_t channels = 32;       // C: the residual stream's width
    int64_t hidden = 32;         // h: each LSTM's state size
    int64_t layers = 2;
    int64_t head_channels = 32;
    int64_t levels = 256;
};

// An LSTM's state between steps (rows or columns): h as a feature map, c in lstm_cell's
// layout [positions, h] (each layer says which).
struct LstmState {
    Tensor h, c;
};

template <class Layer>
class PixelRnnNet : public nn::Module {
public:
    explicit PixelRnnNet(const PixelRnnShape& shape);

    // x [N, 1, H, W] -> logits [N, levels, H, W].
    Tensor forward(const Tensor& x) override;
    // The head: the last layer's output [N, C, H', W] -> logits [N, levels, H', W].
    Tensor head(const Tensor& x);

    const PixelRnnShape shape;
    std::shared_ptr<pixelcnn::MaskedConv2d> input_conv;  // 7x7, mask A
    std::vector<std::shared_ptr<Layer>> layers;
    std::shared_ptr<nn::Conv2d> head_hidden, head_out;
};

}  // namespace mg::models::pixelrnn
