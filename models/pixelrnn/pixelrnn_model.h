// What the PixelRNN models (row-lstm, diagonal-bilstm) share beyond the autoregressive base
// (models/pixelcnn/autoregressive_model.h): the network's shape options, the grey images,
// the training step, the exact likelihood, sampling and completion; each model adds its
// network and its sampler (draw()).
//
//   p(x) = prod over pixels i in raster order of softmax(logits_i)[x_i], 256 levels
//   loss = cross-entropy averaged over the H*W pixels (nats per dim; bits/dim = nats / ln 2)
#pragma once

#include <string>

#include "models/pixelcnn/autoregressive_model.h"
#include "models/pixelrnn/pixelrnn_net.h"

namespace mg::models::pixelrnn {

// The options every PixelRNN has: the network's shape and the training options.
struct PixelRnnOptions : pixelcnn::TrainingOptions {
    PixelRnnShape net;

    template <class Self, class F>
    static void net_fields(Self& o, F&& f) {
        f("width", o.net.channels, IntRange{1, kMaxWidth});
        f("hidden", o.net.hidden, IntRange{1, kMaxWidth});
        f("layers", o.net.layers, IntRange{0, kMaxLayers});
        f("head_channels", o.net.head_channels, IntRange{1, kMaxWidth});
    }
};

// Net: PixelRnnNet<Layer>; Options: derived from PixelRnnOptions. Instantiated for both
// models in pixelrnn_model.cpp.
template <class Net, class Options>
class PixelRnnModel : public pixelcnn::AutoregressiveImageModel<Net, Options> {
public:
    Metrics train_step(const data::Batch& batch) override;
    Tensor sample(int64_t n) override;  // [n, 1, S, S] in [0, 1], levels / 255
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

protected:
    // `model` names it in errors ("<model> options: ...") and prefixes its parameters' names.
    PixelRnnModel(const ModelConfig& config, const std::string& model);

    // The model's sampler: fills every pixel at raster index >= first_pixel of images
    // [N, 1, S, S] (the rest is the context) with one uniform of uniforms [N, S*S] each.
    virtual Tensor draw(const Tensor& images, int64_t first_pixel, const Tensor& uniforms) = 0;

private:
    std::string model_;
};

}  // namespace mg::models::pixelrnn
