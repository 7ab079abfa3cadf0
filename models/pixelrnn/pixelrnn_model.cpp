#include "models/pixelrnn/pixelrnn_model.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/pixelcnn/image_options.h"
#include "models/pixelcnn/likelihood.h"
#include "models/pixelcnn/pixelcnn.h"
#include "models/pixelrnn/diagonal_bilstm.h"
#include "models/pixelrnn/row_lstm.h"

namespace mg::models::pixelrnn {

template <class Net, class Options>
PixelRnnModel<Net, Options>::PixelRnnModel(const ModelConfig& config, const std::string& model)
    : pixelcnn::AutoregressiveImageModel<Net, Options>(config, model + " options", /*conditional=*/false),
      model_(model) {
    MG_CHECK(this->images_.channels == 1, "{} options: grey images only (channels 1), got channels {}", model,
             this->images_.channels);
    manual_seed(config.seed);
    this->set_network(std::make_shared<Net>(this->options_.net), model + ".");
}

template <class Net, class Options>
Metrics PixelRnnModel<Net, Options>::train_step(const data::Batch& batch) {
    pixelcnn::check_image_batch(model_ + " train_step", batch.images, 1);
    Tensor x = batch.images.to(DType::Float32).to(this->config_.device);
    Tensor target = pixelcnn::levels_of(batch.images).flatten(0, 1).to(this->config_.device);  // [N, H, W]
    return this->optimize(cross_entropy((*this->net_)(x), target));  // mean over N*H*W, nats
}

template <class Net, class Options>
Tensor PixelRnnModel<Net, Options>::pixel_logits(const Tensor& images, const Tensor& labels) {
    (void)labels;
    return (*this->net_)(images.to(DType::Float32).to(this->config_.device));
}

template <class Net, class Options>
Metrics PixelRnnModel<Net, Options>::likelihood(const Tensor& images, const Tensor& labels,
                                                const Likelihood::Options& options) {
    (void)labels;
    pixelcnn::check_image_batch(model_ + " likelihood", images, 1);
    MG_CHECK(images.size(0) > 0, "{} likelihood: no images", model_);
    autograd::NoGradGuard no_grad;  // no dropout or batch norm: train and eval modes agree
    const Device device = this->config_.device;
    return pixelcnn::chunked_likelihood(images, this->options_.eval_batch, options, [&](const Tensor& x) {
        Tensor target = pixelcnn::levels_of(x).flatten(0, 1).to(device);
        return cross_entropy((*this->net_)(x.to(DType::Float32).to(device)), target, Reduction::Sum).item();
    });
}

template <class Net, class Options>
Tensor PixelRnnModel<Net, Options>::sample(int64_t n) {
    MG_CHECK(n > 0, "{} sample: n must be positive, got {}", model_, n);
    const int64_t s = this->images_.image_size;
    Tensor uniforms = rand({n, s * s}, {DType::Float64});  // drawn up front: the same for every sampler
    return draw(zeros({n, 1, s, s}), 0, uniforms);
}

template <class Net, class Options>
Tensor PixelRnnModel<Net, Options>::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows,
                                             int64_t per_image) {
    (void)labels;
    const int64_t s = this->images_.image_size;
    pixelcnn::check_image_batch(model_ + " complete", images, 1, s);
    MG_CHECK(keep_rows >= 0 && keep_rows <= s, "{} complete: keep_rows {} not in [0, {}]", model_, keep_rows, s);
    MG_CHECK(per_image >= 1, "{} complete: per_image must be at least 1, got {}", model_, per_image);
    const int64_t n = images.size(0);
    // Image i's completions at rows i*per_image ... (i+1)*per_image - 1.
    Tensor context = images.to(Device::CPU)
                         .to(DType::Float32)
                         .unsqueeze(1)
                         .expand({n, per_image, 1, s, s})
                         .reshape({n * per_image, 1, s, s})
                         .contiguous();
    Tensor uniforms = rand({n * per_image, s * s}, {DType::Float64});
    return draw(context, keep_rows * s, uniforms);
}

template class PixelRnnModel<RowLstmNet, RowLstmOptions>;
template class PixelRnnModel<DiagonalBiLstmNet, DiagonalBiLstmOptions>;

}  // namespace mg::models::pixelrnn
