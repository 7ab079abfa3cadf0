#include "models/pixelrnn/pixelrnn_net.h"

#include <string>

#include "core/ops.h"
#include "models/pixelrnn/diagonal_bilstm_net.h"
#include "models/pixelrnn/row_lstm_net.h"

namespace mg::models::pixelrnn {

template <class Layer>
PixelRnnNet<Layer>::PixelRnnNet(const PixelRnnShape& s) : shape(s) {
    input_conv = register_module("input_conv", std::make_shared<pixelcnn::MaskedConv2d>(1, s.channels, 7, 'A'));
    // A plain holder, so that parameters are named "layers.<i>.out.weight" (PyTorch's ModuleList).
    auto list = register_module("layers", std::make_shared<nn::Module>());
    for (int64_t l = 0; l < s.layers; ++l)
        layers.push_back(list->register_module(std::to_string(l), std::make_shared<Layer>(s.channels, s.hidden)));
    head_hidden = register_module("head_hidden", std::make_shared<nn::Conv2d>(s.channels, s.head_channels, 1));
    head_out = register_module("head_out", std::make_shared<nn::Conv2d>(s.head_channels, s.levels, 1));
}

template <class Layer>
Tensor PixelRnnNet<Layer>::head(const Tensor& x) {
    return (*head_out)(relu((*head_hidden)(relu(x))));
}

template <class Layer>
Tensor PixelRnnNet<Layer>::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) > 0 && x.size(3) > 0,
             "{}: expected grey images [N, 1, H, W], got {}", Layer::kModel, x.shape());
    Tensor y = (*input_conv)(x);
    for (auto& layer : layers) y = (*layer)(y);
    return head(y);
}

template class PixelRnnNet<RowLstmLayer>;
template class PixelRnnNet<DiagonalBiLstmLayer>;

}  // namespace mg::models::pixelrnn
