// Model: what the shared trainer needs from every model.
//
// A model owns its networks and optimizers, defines one training step and how to
// sample, and says what data it trains on. Everything else (the loop, logging,
// sample grids, checkpoints, resume, progress) is the trainer's (models/trainer.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/loader.h"
#include "core/data/transforms.h"
#include "core/nn/module.h"
#include "core/tensor.h"
#include "optim/optimizer.h"

namespace mg::models {

// The scalars a step reports, in a stable order ("loss_d", "d_real", "grad_norm/G/fc.weight").
using Metrics = std::vector<std::pair<std::string, double>>;

// Where a model's training data comes from.
struct DataSpec {
    enum class Source { FashionMnist, Toy2d };
    Source source = Source::FashionMnist;
    data::PixelRange range = data::PixelRange::MinusOneOne;  // images: the scale the model sees
    std::string toy2d = "ring";                              // Toy2d: which set
    int64_t toy2d_size = 100000;                             // Toy2d: points per epoch
    bool labels = false;                                     // the step needs class labels
};

// Common settings every model takes, plus its own options as JSON (--config FILE).
struct ModelConfig {
    int64_t batch_size = 0;  // 0: the model's default
    double lr = 0.0;         // 0: the model's default
    uint64_t seed = 0;
    Device device = Device::CPU;
    nlohmann::json options = nlohmann::json::object();
    std::string options_source;  // where `options` came from ("--config FILE"): opens the errors of create()
};

class Model {
public:
    virtual ~Model() = default;
    virtual std::string name() const = 0;
    virtual DataSpec data_spec() const = 0;
    virtual int64_t batch_size() const = 0;
    // The full configuration (defaults filled in), written to the run's config.json.
    virtual nlohmann::json config() const = 0;

    // One optimizer update of every network the model trains, on one batch.
    virtual Metrics train_step(const data::Batch& batch) = 0;
    // n samples for a grid: images [n, C, H, W] in the range data_spec() names, or
    // points [n, 2] for the 2-D models. Does not change training state except the RNG.
    virtual Tensor sample(int64_t n) = 0;
    // Quality measures computed at sample time (gan2d: modes covered), logged with the step.
    virtual Metrics evaluate() { return {}; }
    // Pictures beyond the sample grid (gan2d: points and the decision surface), written
    // as PNG files into dir with the step in their names. Most models have none.
    virtual void write_visuals(const std::string& dir, int64_t step) {
        (void)dir;
        (void)step;
    }

    // Class-conditional models (cgan, cvae, conditional gated PixelCNN): one sample per
    // label. labels: int64 [n] in 0..9.
    virtual bool conditional() const { return false; }
    virtual Tensor sample_with_labels(const Tensor& labels);

    // Likelihood models (VAEs, PixelCNN): the test-set likelihood of `images` (all of
    // them, in the range data_spec() names; labels int64 [n] for conditional models),
    // e.g. {"elbo", "iwae", "nll_nats", "nll_bits_per_dim"}. Empty for models without one.
    struct LikelihoodOptions {
        int64_t iwae_k = 100;  // importance samples for the IWAE bound
        // Called after each chunk with the images done so far and the total (may be empty):
        // a long evaluation (IWAE-5000 takes minutes) shows its progress.
        std::function<void(int64_t done, int64_t total)> progress;
    };
    virtual Metrics likelihood(const Tensor& images, const Tensor& labels, const LikelihoodOptions& options) {
        (void)images, (void)labels, (void)options;
        return {};
    }

    // Image editing: fill in everything below the first `keep_rows` rows of each image
    // [n, C, H, W], `per_image` completions each; returns [n * per_image, C, H, W] with the
    // completions of image i at rows i*per_image ... Throws for models that cannot.
    virtual Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image);

    // Latent-variable models: `rows` interpolations between pairs of prior samples, each
    // `steps` images long: [rows * steps, C, H, W]. Throws for models without a latent space.
    virtual Tensor interpolate(int64_t rows, int64_t steps);

    // Resuming at `step`: models that count steps themselves (n_critic) pick up from it.
    virtual void set_step(int64_t step) { (void)step; }

    // The networks and optimizers, by name ("G", "D"), for checkpoints.
    virtual std::vector<std::pair<std::string, nn::Module*>> modules() = 0;
    virtual std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() = 0;
};

}  // namespace mg::models
