// The VAE family: vae (workloads.md), cvae (class-conditional) and convvae (convolutional),
// one Model class with three pairs of networks, on Fashion-MNIST (the default) or any image
// data set (models/image_data.h: --data, --image-size, --channels) at C x S x S. The MLPs
// take C*S*S inputs and outputs; convvae has one stride-2 block per factor of 2 above its
// 7x7 or 4x4 base (networks.h). Every C*S*S intensity in [0, 1] is a Bernoulli mean.
//
// Step: z = mu + sigma * eps, loss = (sum BCE-with-logits + beta * sum KL) / B (objective.h),
// one Adam update of encoder and decoder together. Reported per step: loss, recon (BCE per
// image), kl (per image), elbo = -(recon + kl) per image, all in nats.
//
// Options (--config JSON; an unknown key is an error naming the known ones):
//   latent_dim  20     size of z; with 2, write_visuals draws the encoded means of up to
//                      3,000 labelled training images (latent_N.png) and, for the
//                      unconditional models, decodes a grid of z (manifold_N.png)
//   hidden      400    the MLP width (vae, cvae)
//   beta        1      weight of the KL term (beta-VAE)
//   binarize    false  dynamic binarization: each training image is a fresh Bernoulli
//                      draw with its pixel intensities as probabilities, every batch
//   batch_size  128,  lr 1e-3 (Adam, betas 0.9, 0.999)
//   data, image_size, channels, classes, hflip, skip_bad: the image data (ImageDataOptions),
//                      recorded in the config
#pragma once

#include <memory>
#include <vector>

#include "models/capabilities.h"
#include "models/image_data.h"
#include "models/model.h"
#include "models/vae/networks.h"
#include "models/vae/objective.h"
#include "optim/adam.h"

namespace mg::models {

enum class VaeKind { Mlp, Conditional, Conv };

struct VaeOptions {
    int64_t latent_dim = 20;
    int64_t hidden = 400;
    double beta = 1.0;
    bool binarize = false;
    int64_t batch_size = 128;
    double lr = 1e-3;

    // Each option once (models/options.h): its key, and an integer's range.
    template <class Self, class F>
    static void fields(Self& o, F&& f);
    // Reads every option present in `json` (refusing unknown keys, naming them) and checks ranges.
    void update_from(const nlohmann::json& json, VaeKind kind);
    nlohmann::json to_json(VaeKind kind) const;  // convvae has no "hidden"
};

// All three sample, complete, interpolate and give a likelihood; cvae also takes labels.
class VaeModel : public Model,
                 public Sampler,
                 public ClassConditional,
                 public Likelihood,
                 public Completion,
                 public Interpolation,
                 public TrainingVisuals {
public:
    VaeModel(VaeKind kind, const ModelConfig& config);

    std::string name() const override;
    DataSpec data_spec() const override;
    int64_t batch_size() const override { return options_.batch_size; }
    nlohmann::json config() const override;

    Metrics train_step(const data::Batch& batch) override { return step(batch, Tensor()); }
    // The step with given reparameterisation noise eps [B, latent] (undefined: drawn from
    // N(0, I)), so that a test can replay PyTorch's step exactly.
    Metrics step(const data::Batch& batch, const Tensor& eps);
    // Bernoulli means sigmoid(decoder(z)), z ~ N(0, I): [n, C, S, S] in [0, 1]. cvae: random labels.
    Tensor sample(int64_t n) override;
    void write_visuals(const std::string& dir, int64_t step) override;

    bool conditional() const override { return kind_ == VaeKind::Conditional; }
    Tensor sample_with_labels(const Tensor& labels) override;
    // images [N, C, S, S] in [0, 1] (uint8: v/255). Test ELBO and IWAE_K per image, averaged
    // over every image, in nats: {"elbo", "iwae", "iwae_k", "nll_nats" = -iwae,
    // "nll_bits_per_dim" = nll_nats / (C*S*S ln 2)}, per dimension of the image.
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    // Iterative inpainting (keep_rows in [0, S]): the hidden rows start at 0.5; then kCompletionIterations times
    // encode, draw z, decode, put the known rows back and the decoder's means in the rest.
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    // Straight lines in z between pairs of prior samples (cvae: one random label per row).
    Tensor interpolate(int64_t rows, int64_t steps) override;

    std::vector<std::pair<std::string, nn::Module*>> modules() override;
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override;

    VaeEncoder& encoder() { return *encoder_; }
    VaeDecoder& decoder() { return *decoder_; }
    // sample() on given draws z [n, latent] (+ labels int64 [n] for cvae): sigmoid(decoder), on the CPU.
    Tensor sample_from(const Tensor& z, const Tensor& labels) { return decode_means(z, labels); }
    const VaeOptions& options() const { return options_; }
    const ImageDataOptions& image_options() const { return images_; }
    int64_t class_count() const override { return images_.classes; }

    static constexpr int64_t kCompletionIterations = 40;
    static constexpr int64_t kLatentPlotImages = 3000;

private:
    Tensor condition(const Tensor& labels, int64_t n) const;  // one-hot [n, classes] or undefined
    Tensor decode_means(const Tensor& z, const Tensor& labels);  // sigmoid(decoder), on the CPU
    // [n, C, S, S] in [0, 1], in the parameters' dtype and on their device (uint8 taken as v/255).
    Tensor image_input(const Tensor& images, const char* op) const;
    TensorOptions float_options() const;  // the parameters' float dtype and device
    void keep_for_latent_plot(const data::Batch& batch);

    VaeKind kind_;
    VaeOptions options_;
    ImageDataOptions images_;
    ModelConfig config_;
    std::shared_ptr<VaeEncoder> encoder_;
    std::shared_ptr<VaeDecoder> decoder_;
    std::unique_ptr<optim::Adam> adam_;
    // Labelled training images for the latent picture (latent_dim 2), the first ones seen.
    std::vector<Tensor> plot_images_, plot_labels_;
    int64_t plot_count_ = 0;
};

}  // namespace mg::models
