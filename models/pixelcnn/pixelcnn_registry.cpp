// The PixelCNN family's registry entries: the PixelCNN of workloads.md, and the Gated
// PixelCNN, unconditional and class-conditional, PixelRNN's Row LSTM and Diagonal BiLSTM, and ImageGPT;
// each on Fashion-MNIST or any image data set.
#include "models/families.h"
#include "models/imagegpt/imagegpt.h"
#include "models/pixelcnn/gated_model.h"
#include "models/pixelcnn/pixelcnn.h"
#include "models/pixelrnn/diagonal_bilstm.h"
#include "models/pixelrnn/row_lstm.h"

namespace mg::models {

std::vector<ModelInfo> pixelcnn_models() {
    return {
        {"pixelcnn",
         "PixelCNN on Fashion-MNIST (workloads.md) or any image data set (--data; colour: R, G, B masks): masked "
         "7x7 convs (A, then 7 x B) with BatchNorm, 256-way softmax per value, Adam 1e-3, batch 64; cached sampler",
         [](const ModelConfig& c) { return std::make_unique<pixelcnn::PixelCnnModel>(c); }, 1, 0,
         /*image_data=*/true},
        {"gated-pixelcnn",
         "Gated PixelCNN (van den Oord et al. 2016): vertical + horizontal stacks, tanh*sigmoid units, no blind "
         "spot; 256-way softmax, Adam 1e-3, batch 64",
         [](const ModelConfig& c) { return std::make_unique<GatedPixelCnn>(c, false); }, 1, 0, /*image_data=*/true},
        {"gated-pixelcnn-cond", "class-conditional Gated PixelCNN: a learned per-class bias in every gated unit",
         [](const ModelConfig& c) { return std::make_unique<GatedPixelCnn>(c, true); }, 1, 0, /*image_data=*/true},
        {"row-lstm",
         "PixelRNN's Row LSTM (van den Oord et al. 2016) on grey images: 7x7 mask-A conv, 2 Row LSTM layers "
         "(1x3 mask-B input-to-state, 1x3 state-to-state, residual), 256-way softmax; row-by-row sampler",
         [](const ModelConfig& c) { return std::make_unique<pixelrnn::RowLstmModel>(c); }, 1, 0,
         /*image_data=*/true},
        {"diagonal-bilstm",
         "PixelRNN's Diagonal BiLSTM (van den Oord et al. 2016) on grey images: 7x7 mask-A conv, a Diagonal "
         "BiLSTM layer (skewed map, column-wise LSTM both ways, the right-to-left one shifted down a row, "
         "residual): every earlier pixel but one in view; 256-way softmax; naive sampler",
         [](const ModelConfig& c) { return std::make_unique<pixelrnn::DiagonalBiLstmModel>(c); }, 1, 0,
         /*image_data=*/true},
        {"imagegpt",
         "ImageGPT-small (Chen et al. 2020): a decoder-only transformer over the pixels in raster order (784 tokens "
         "of 256 levels; colour: a k-means palette), 4 pre-LN blocks of d 64, 4 heads; Adam 1e-3, batch 64; "
         "KV-cache sampler",
         [](const ModelConfig& c) { return std::make_unique<imagegpt::ImageGptModel>(c); }, 1, 0,
         /*image_data=*/true},
    };
}

}  // namespace mg::models
