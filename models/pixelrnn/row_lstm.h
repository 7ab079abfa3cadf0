// row-lstm: PixelRNN's Row LSTM (row_lstm_net.h) on Fashion-MNIST (the default) or any grey
// image data set (the shared image options, models/image_data.h: --data, --image-size).
// The loss, likelihood, sampling and completion are the PixelRNNs' (pixelrnn_model.h).
//   Adam lr 1e-3, batch 64.
//
// Options (--config JSON):
//   width 32, hidden 32, layers 2, head_channels 32   the network's shape (pixelrnn_net.h)
//   batch_size 64, lr 1e-3, eval_batch 128
//   sampler "rows" | "naive"                          (row_lstm_sampler.h)
// train / sample / eval report what pixelcnn's do (pixelcnn.h).
#pragma once

#include "models/pixelrnn/pixelrnn_model.h"
#include "models/pixelrnn/row_lstm_net.h"
#include "models/pixelrnn/row_lstm_sampler.h"

namespace mg::models::pixelrnn {

struct RowLstmOptions : PixelRnnOptions {
    RowSampler sampler = RowSampler::Rows;

    template <class Self, class F>
    static void fields(Self& o, F&& f);
    void update_from(const nlohmann::json& json);  // refuses unknown keys, naming them
    nlohmann::json to_json() const;
};

class RowLstmModel : public PixelRnnModel<RowLstmNet, RowLstmOptions> {
public:
    explicit RowLstmModel(const ModelConfig& config) : PixelRnnModel(config, "row-lstm") {}

    std::string name() const override { return "row-lstm"; }
    void set_sampler(RowSampler kind) { options_.sampler = kind; }

protected:
    Tensor draw(const Tensor& images, int64_t first_pixel, const Tensor& uniforms) override;
};

}  // namespace mg::models::pixelrnn
