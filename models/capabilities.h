// What only some models can do, one small interface per capability. A family derives
// from the ones it offers; callers ask with as<C>(model) (nullptr: it cannot) or
// require<C>(model, request) (an mg::Error naming the request and the models that can).
//
//   Sampler            every model but the classifier
//   ClassConditional   cgan, cvae, gated-pixelcnn-cond
//   Likelihood         vae, cvae, convvae, pixelcnn, gated-pixelcnn, gated-pixelcnn-cond, row-lstm, imagegpt
//   Completion         vae, cvae, convvae, pixelcnn, gated-pixelcnn, gated-pixelcnn-cond, row-lstm, imagegpt
//   Interpolation      dcgan, cgan, wgan-gp, vae, cvae, convvae
//   SampleQuality      gan2d, gan2d-vanilla (modes covered)
//   TrainingVisuals    gan2d, gan2d-vanilla, vae, cvae, convvae
//   Translation        pix2pix
//   PixelLogits        pixelcnn, gated-pixelcnn, gated-pixelcnn-cond, row-lstm
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "models/model.h"

namespace mg::models {

// Draws samples for a grid: images [n, C, H, W] in the range data_spec() names, or points
// [n, 2] for the 2-D models. Changes no training state except the RNG.
class Sampler {
public:
    static constexpr const char* kAbility = "draw samples";
    virtual ~Sampler() = default;
    virtual Tensor sample(int64_t n) = 0;
};

// Class-conditional models: one sample per label (labels int64 [n] in 0..9). A family
// whose members differ (vae / cvae) implements it in all and says which with conditional().
class ClassConditional {
public:
    static constexpr const char* kAbility = "sample given class labels";
    virtual ~ClassConditional() = default;
    virtual bool conditional() const = 0;
    virtual Tensor sample_with_labels(const Tensor& labels) = 0;
    // Labels run over [0, class_count()): Fashion-MNIST's 10 unless the model says otherwise.
    virtual int64_t class_count() const { return 10; }
};

// Likelihood models (VAEs, PixelCNNs): the test-set likelihood of `images` (all of them, in
// the range data_spec() names; labels int64 [n] for conditional models), e.g. {"elbo",
// "iwae", "nll_nats", "nll_bits_per_dim"}.
class Likelihood {
public:
    static constexpr const char* kAbility = "compute a likelihood";
    struct Options {
        int64_t iwae_k = 100;  // importance samples for the IWAE bound
        // Called after each chunk with the images done so far and the total (may be empty):
        // a long evaluation (IWAE-5000 takes minutes) shows its progress.
        std::function<void(int64_t done, int64_t total)> progress;
    };
    virtual ~Likelihood() = default;
    virtual Metrics likelihood(const Tensor& images, const Tensor& labels, const Options& options) = 0;
};

// Image editing: fill in everything below the first `keep_rows` rows of each image
// [n, C, H, W], `per_image` completions each; returns [n * per_image, C, H, W] with the
// completions of image i at rows i*per_image ... (labels int64 [n] for conditional models).
class Completion {
public:
    static constexpr const char* kAbility = "complete images";
    virtual ~Completion() = default;
    virtual Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) = 0;
};

// Latent-variable models: `rows` interpolations between pairs of prior samples, each
// `steps` images long: [rows * steps, C, H, W].
class Interpolation {
public:
    static constexpr const char* kAbility = "interpolate in a latent space";
    virtual ~Interpolation() = default;
    virtual Tensor interpolate(int64_t rows, int64_t steps) = 0;
};

// Quality measures computed at sample time (gan2d: modes covered), logged with the step.
class SampleQuality {
public:
    static constexpr const char* kAbility = "measure its samples' quality";
    virtual ~SampleQuality() = default;
    virtual Metrics evaluate() = 0;
};

// Pictures beyond the sample grid (gan2d: points and the decision surface), written as PNG
// files into dir with the step in their names.
class TrainingVisuals {
public:
    static constexpr const char* kAbility = "draw training visuals";
    virtual ~TrainingVisuals() = default;
    virtual void write_visuals(const std::string& dir, int64_t step) = 0;
};

// Image-to-image models, trained on paired data (models/paired_data.h: the input's channels
// first, the target's after them): inputs [n, input_channels(), S, S] in the range
// data_spec() names -> outputs [n, Co, S, S], on the CPU; no autograd.
class Translation {
public:
    static constexpr const char* kAbility = "translate images";
    virtual ~Translation() = default;
    virtual int64_t input_channels() const = 0;
    virtual Tensor translate(const Tensor& inputs) = 0;
};

// Autoregressive image models: the network's logits for images [n, C, H, W] in [0, 1]
// (labels int64 [n] for a conditional model, else ignored) as [n, C*L, H, W], the L logits
// of value (c, i, j) at rows c*L .. c*L + L - 1; differentiable in `images`. The network runs
// in whatever mode it is in (the caller sets eval for BatchNorm's running statistics). What
// each value's prediction depends on is the model's causality (models/receptive_field.h).
class PixelLogits {
public:
    static constexpr const char* kAbility = "give each pixel's logits";
    virtual ~PixelLogits() = default;
    virtual Tensor pixel_logits(const Tensor& images, const Tensor& labels) = 0;
};

// The capability C of `model`, or nullptr when it has none (a ClassConditional that is
// not conditional() counts as none).
template <class C>
C* as(Model& model) {
    C* c = dynamic_cast<C*>(&model);
    if constexpr (std::is_same_v<C, ClassConditional>)
        if (c && !c->conditional()) return nullptr;
    return c;
}

// The registered models (with their default options) that have capability `can`, by name.
std::string models_that_can(const std::function<bool(Model&)>& can);

// The capability C of `model`; throws "REQUEST: model 'vae' cannot complete images; models
// that can: pixelcnn, ..." when it has none.
template <class C>
C& require(Model& model, std::string_view request) {
    if (C* c = as<C>(model)) return *c;
    MG_FAIL("{}: model '{}' cannot {}; models that can: {}", request, model.name(), C::kAbility,
            models_that_can([](Model& m) { return as<C>(m) != nullptr; }));
}

}  // namespace mg::models
