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

#include "models/capabilities.h"
#include "models/image_data.h"
#include "models/model.h"
#include "models/pixelrnn/row_lstm_net.h"
#include "models/pixelrnn/row_lstm_sampler.h"
#include "optim/adam.h"

namespace mg::models::pixelrnn {

struct RowLstmOptions {
    RowLstmShape net;
    int64_t batch_size = 64;
    double lr = 1e-3;
    RowSampler sampler = RowSampler::Rows;
    int64_t eval_batch = 128;

    template <class Self, class F>
    static void fields(Self& o, F&& f);
    void update_from(const nlohmann::json& json);  // refuses unknown keys, naming them
    nlohmann::json to_json() const;
};

class RowLstmModel : public Model, public Sampler, public Likelihood, public Completion, public PixelLogits {
public:
    explicit RowLstmModel(const ModelConfig& config);

    std::string name() const override { return "row-lstm"; }
    DataSpec data_spec() const override;
    int64_t batch_size() const override { return options_.batch_size; }
    nlohmann::json config() const override;

    Metrics train_step(const data::Batch& batch) override;
    Tensor sample(int64_t n) override;  // [n, 1, S, S] in [0, 1], levels / 255
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

    std::vector<std::pair<std::string, nn::Module*>> modules() override { return {{"net", net_.get()}}; }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override { return {{"net", opt_.get()}}; }

    RowLstmNet& net() { return *net_; }
    const RowLstmOptions& options() const { return options_; }
    void set_sampler(RowSampler kind) { options_.sampler = kind; }

private:
    RowLstmOptions options_;
    ImageDataOptions images_;
    ModelConfig config_;
    std::shared_ptr<RowLstmNet> net_;
    std::unique_ptr<optim::Adam> opt_;
};

}  // namespace mg::models::pixelrnn
