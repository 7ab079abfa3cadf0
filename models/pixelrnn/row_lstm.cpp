#include "models/pixelrnn/row_lstm.h"


#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/options.h"
#include "models/pixelcnn/image_options.h"
#include "models/pixelcnn/likelihood.h"
#include "models/pixelcnn/pixelcnn.h"

namespace mg::models::pixelrnn {

template <class Self, class F>
void RowLstmOptions::fields(Self& o, F&& f) {
    f("width", o.net.channels, IntRange{1, kMaxWidth});
    f("hidden", o.net.hidden, IntRange{1, kMaxWidth});
    f("layers", o.net.layers, IntRange{0, kMaxLayers});
    f("head_channels", o.net.head_channels, IntRange{1, kMaxWidth});
    f("sampler", o.sampler, Names<RowSampler>{parse_row_sampler, row_sampler_name});
    training_fields(o, f);
}

nlohmann::json RowLstmOptions::to_json() const { return options_to_json(*this); }

void RowLstmOptions::update_from(const nlohmann::json& j) {
    read_options(*this, OptionReader("row-lstm options", j, to_json()));
    check_training("row-lstm options");
}

RowLstmModel::RowLstmModel(const ModelConfig& config)
    : AutoregressiveImageModel(config, "row-lstm options", /*conditional=*/false) {
    MG_CHECK(images_.channels == 1, "row-lstm options: grey images only (channels 1), got channels {}",
             images_.channels);
    manual_seed(config.seed);
    set_network(std::make_shared<RowLstmNet>(options_.net), "row-lstm.");
}

Metrics RowLstmModel::train_step(const data::Batch& batch) {
    pixelcnn::check_image_batch("row-lstm train_step", batch.images, 1);
    Tensor x = batch.images.to(DType::Float32).to(config_.device);
    Tensor target = pixelcnn::levels_of(batch.images).flatten(0, 1).to(config_.device);  // [N, H, W]
    return optimize(cross_entropy((*net_)(x), target));  // mean over N*H*W, nats
}

Tensor RowLstmModel::pixel_logits(const Tensor& images, const Tensor& labels) {
    (void)labels;
    return (*net_)(images.to(DType::Float32).to(config_.device));
}

Metrics RowLstmModel::likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) {
    (void)labels;
    pixelcnn::check_image_batch("row-lstm likelihood", images, 1);
    const int64_t n = images.size(0);
    MG_CHECK(n > 0, "row-lstm likelihood: no images");
    autograd::NoGradGuard no_grad;  // no dropout or batch norm: train and eval modes agree
    return pixelcnn::chunked_likelihood(images, options_.eval_batch, options, [&](const Tensor& x) {
        Tensor target = pixelcnn::levels_of(x).flatten(0, 1).to(config_.device);
        return cross_entropy((*net_)(x.to(DType::Float32).to(config_.device)), target, Reduction::Sum).item();
    });
}

Tensor RowLstmModel::sample(int64_t n) {
    MG_CHECK(n > 0, "row-lstm sample: n must be positive, got {}", n);
    const int64_t s = images_.image_size;
    Tensor uniforms = rand({n, s * s}, {DType::Float64});  // drawn up front: the same for either sampler
    return sample_row_lstm(*net_, zeros({n, 1, s, s}), 0, uniforms, options_.sampler);
}

Tensor RowLstmModel::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    (void)labels;
    const int64_t s = images_.image_size;
    pixelcnn::check_image_batch("row-lstm complete", images, 1, s);
    MG_CHECK(keep_rows >= 0 && keep_rows <= s, "row-lstm complete: keep_rows {} not in [0, {}]", keep_rows, s);
    MG_CHECK(per_image >= 1, "row-lstm complete: per_image must be at least 1, got {}", per_image);
    const int64_t n = images.size(0);
    // Image i's completions at rows i*per_image ... (i+1)*per_image - 1.
    Tensor context = images.to(Device::CPU)
                         .to(DType::Float32)
                         .unsqueeze(1)
                         .expand({n, per_image, 1, s, s})
                         .reshape({n * per_image, 1, s, s})
                         .contiguous();
    Tensor uniforms = rand({n * per_image, s * s}, {DType::Float64});
    return sample_row_lstm(*net_, context, keep_rows * s, uniforms, options_.sampler);
}

}  // namespace mg::models::pixelrnn
