// gated-pixelcnn and gated-pixelcnn-cond: the Gated PixelCNN, 256 levels per value, on
// Fashion-MNIST (the default) or any image data set, grey or colour, at any size (the shared
// image options, models/image_data.h: --data, --image-size, --channels).
//
// Input: the levels scaled to [0, 1]; targets round(255 x); a 256-way softmax per value
// (colour: R, then G given R, then B given R and G; gated_network.h), cross-entropy averaged
// over the C*H*W values (nats/dim; bits/dim = nats / ln 2). Adam lr 1e-3, batch 64.
// Options (--config JSON), defaults in GatedOptions; colour images round the width and
// head_channels up to multiples of 3 (64 -> 66). The stacks' width is "width", "channels"
// the images' (image_options.h).
#pragma once

#include <memory>
#include <string>

#include "models/pixelcnn/autoregressive_model.h"
#include "models/pixelcnn/gated_network.h"
#include "models/pixelcnn/gated_sampler.h"

namespace mg::models {

struct GatedOptions : pixelcnn::TrainingOptions {
    // The network's shape (channels, layers, first_kernel, kernel, head_channels; see
    // gated_network.h); its classes and levels follow from `conditional` and kLevels.
    GatedNetOptions net;
    bool conditional = false;    // a learned per-class bias in every gated unit
    std::string sampler = "cached";  // "naive" | "rows" | "cached" (gated_sampler.h)

    GatedOptions() { eval_batch = 256; }

    // Each option once (models/options.h): its key, and an integer's range.
    template <class Self, class F>
    static void fields(Self& o, F&& f);
    // Reads every option present in `json`, refusing unknown keys (naming them).
    void update_from(const nlohmann::json& json);
    nlohmann::json to_json() const;
};

// gated-pixelcnn-cond is also conditional(): it samples and completes given labels.
class GatedPixelCnn : public pixelcnn::AutoregressiveImageModel<GatedPixelCnnNet, GatedOptions>,
                      public ClassConditional {
public:
    static constexpr int64_t kLevels = 256;

    // `conditional_default`: the registry name's default for the "conditional" option.
    GatedPixelCnn(const ModelConfig& config, bool conditional_default);

    std::string name() const override;
    DataSpec data_spec() const override;

    // Reports "loss" (nats/pixel) and "bits_per_dim".
    Metrics train_step(const data::Batch& batch) override;
    // [n, C, S, S] in [0, 1]; a conditional model draws labels uniformly.
    Tensor sample(int64_t n) override;
    bool conditional() const override { return options_.conditional; }
    Tensor sample_with_labels(const Tensor& labels) override;
    // {"nll_nats" (mean per image), "nll_bits_per_dim", "nll_nats_per_dim" (over C*H*W)} over
    // all of `images` [n, C, H, W] in [0, 1].
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

    // Which sampler sample/complete use from now on (tests and timings compare them).
    void set_sampler(GatedSampler sampler) { sampler_ = sampler; }

    // float [n, C, H, W] in [0, 1] -> int64 [n, C, H, W] levels round(255 x).
    static Tensor levels_of(const Tensor& images);

private:
    // Reads the options over `defaults` (whose "conditional" chose the image options).
    GatedPixelCnn(const ModelConfig& config, const GatedOptions& defaults);
    // Samples rows >= start_row of `canvas` [n, C, S, S] (CPU float32), in eval mode.
    Tensor draw(Tensor canvas, const Tensor& labels, int64_t start_row);
    // Cross-entropy of the logits of images x [n, C, H, W] (on the device) against their levels.
    Tensor loss_of(const Tensor& x, const Tensor& labels, Reduction reduction);

    GatedSampler sampler_ = GatedSampler::Cached;
};

}  // namespace mg::models
