// pixelcnn (workloads.md): an autoregressive model of 256 levels per value, on Fashion-MNIST
// (grey, 28x28: workloads.md) or any image data set (the shared image options,
// models/image_data.h: --data, --image-size, --channels; grey or colour, any size).
//
//   p(x) = prod over pixels i in raster order, then channels c (R, G, B) of
//          p(x_ic | x_<i, x_i,<c),  p(. | ...) = softmax(logits_ic)
//   logits = PixelCnnNet(x / 255)   [N, C*256, H, W], a view [N, C, 256, H, W]  (pixelcnn_net.h)
//   loss   = cross-entropy of the 256 levels, averaged over the C*H*W values (nats per dim)
//   Adam lr 1e-3, batch 64.
//
// Options (--config JSON; defaults are workloads.md's):
//   width 64, layers 7 (type-B blocks), kernel 7      the network's shape; colour images round
//                                                      the width up to a multiple of 3 (66);
//                                                      "channels" is the images' (image_options.h)
//   batch_size 64, lr 1e-3
//   sampler "cached" | "naive"                         (models/pixelcnn/pixelcnn_sampler.h)
//   eval_batch 128                                     images per forward in likelihood()
//
// train_step reports "loss" (nats per dimension) and "bits_per_dim" (= loss / ln 2).
// likelihood() reports "nll_nats" (per image), "nll_bits_per_dim" and "nll_nats_per_dim"
// (over C*H*W) of images [N, C, H, W] in [0, 1].
// complete() keeps the first rows of each image [N, C, S, S] and samples the rest.
#pragma once

#include <memory>

#include "models/pixelcnn/autoregressive_model.h"
#include "models/pixelcnn/pixelcnn_net.h"
#include "models/pixelcnn/pixelcnn_sampler.h"

namespace mg::models::pixelcnn {

struct PixelCnnOptions : TrainingOptions {
    NetShape net;
    SamplerKind sampler = SamplerKind::Cached;

    // Each option once (models/options.h): its key, and an integer's range.
    template <class Self, class F>
    static void fields(Self& o, F&& f);
    // Reads every option present in `json`, refusing unknown keys (naming them).
    void update_from(const nlohmann::json& json);
    nlohmann::json to_json() const;
};

class PixelCnnModel : public AutoregressiveImageModel<PixelCnnNet, PixelCnnOptions> {
public:
    explicit PixelCnnModel(const ModelConfig& config);

    std::string name() const override { return "pixelcnn"; }
    Metrics train_step(const data::Batch& batch) override;
    // [n, C, S, S] in [0, 1]: levels / 255, drawn with the configured sampler.
    Tensor sample(int64_t n) override;
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

    void set_sampler(SamplerKind kind) { options_.sampler = kind; }

private:
    // Samples the pixels from first_pixel on, in chunks of kChunk images; uniforms [n, C*S*S].
    Tensor sample_from(const Tensor& context, int64_t first_pixel, const Tensor& uniforms);
};

// int64 [N, C, H, W] levels of images [N, C, H, W] in [0, 1]: round(x * 255). Throws
// naming the first pixel that is out of range or not within 1e-3 of a level.
Tensor levels_of(const Tensor& images, int64_t levels = 256);

}  // namespace mg::models::pixelcnn
