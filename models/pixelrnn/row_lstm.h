// row-lstm: PixelRNN's Row LSTM (row_lstm_net.h) on Fashion-MNIST (the default) or any grey
// image data set (the shared image options, models/image_data.h: --data, --image-size).
//
//   p(x) = prod over pixels i in raster order of softmax(logits_i)[x_i], 256 levels
//   loss = cross-entropy averaged over the H*W pixels (nats per dim; bits/dim = nats / ln 2)
//   Adam lr 1e-3, batch 64.
//
// Options (--config JSON):
//   width 32, hidden 32, layers 2, head_channels 32   the network's shape (row_lstm_net.h)
//   batch_size 64, lr 1e-3, eval_batch 128
//   sampler "rows" | "naive"                          (row_lstm_sampler.h)
// train / sample / eval report what pixelcnn's do (pixelcnn.h).
#pragma once

#include <memory>

#include "models/pixelcnn/autoregressive_model.h"
#include "models/pixelrnn/row_lstm_net.h"
#include "models/pixelrnn/row_lstm_sampler.h"

namespace mg::models::pixelrnn {

struct RowLstmOptions : pixelcnn::TrainingOptions {
    RowLstmShape net;
    RowSampler sampler = RowSampler::Rows;

    template <class Self, class F>
    static void fields(Self& o, F&& f);
    void update_from(const nlohmann::json& json);  // refuses unknown keys, naming them
    nlohmann::json to_json() const;
};

class RowLstmModel : public pixelcnn::AutoregressiveImageModel<RowLstmNet, RowLstmOptions> {
public:
    explicit RowLstmModel(const ModelConfig& config);

    std::string name() const override { return "row-lstm"; }
    Metrics train_step(const data::Batch& batch) override;
    Tensor sample(int64_t n) override;  // [n, 1, S, S] in [0, 1], levels / 255
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

    void set_sampler(RowSampler kind) { options_.sampler = kind; }
};

}  // namespace mg::models::pixelrnn
