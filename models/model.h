// Model: what the shared trainer needs from every model.
//
// A model owns its networks and optimizers, defines one training step, and says what data
// it trains on. Everything else (the loop, logging, sample grids, checkpoints, resume,
// progress) is the trainer's (models/trainer.h). What only some models can do (sample,
// likelihood, completion, interpolation, class labels) are the capability interfaces of
// models/capabilities.h, which each family implements and callers ask for with as<C>().
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/loader.h"
#include "core/data/transforms.h"
#include "core/nn/module.h"
#include "core/tensor.h"
#include "models/bugs.h"
#include "models/step_metrics.h"
#include "optim/optimizer.h"

namespace mg::models {

// Where a model's training data comes from.
struct DataSpec {
    enum class Source { FashionMnist, Toy2d, Images };
    Source source = Source::FashionMnist;
    data::PixelRange range = data::PixelRange::MinusOneOne;  // images: the scale the model sees
    std::string toy2d = "ring";                              // Toy2d: which set
    int64_t toy2d_size = 100000;                             // Toy2d: points per epoch
    bool labels = false;                                     // the step needs class labels
    // Images: an image data set (core/data/image_dataset.h: "folder:DIR", "npy:FILE", "emoji"),
    // fitted to size x size with `channels`.
    std::string images;
    int64_t image_size = 0, channels = 0;
    bool skip_bad = false;
    // Training augmentation of images (core/data/transforms.h's AugmentOptions): flipped
    // left-right at random when hflip, reflect-padded by `crop` and cropped back at random,
    // colour-jittered.
    bool hflip = false;
    int64_t crop = 0;
    data::ColorJitter jitter = {};
};

// Common settings every model takes, plus its own options as JSON (--config FILE).
struct ModelConfig {
    int64_t batch_size = 0;  // 0: the model's default
    double lr = 0.0;         // 0: the model's default
    uint64_t seed = 0;
    Device device = Device::CPU;
    nlohmann::json options = nlohmann::json::object();
    std::string options_source;  // where `options` came from ("--config FILE"): opens the errors of create()
    Bug bug = Bug::None;         // a classic mistake to make on purpose (models/bugs.h; --bug)
};

// What a model's config() returns: its options (defaults filled in) plus the seed and
// device of the run (and its bug, when it has one), as config.json and a checkpoint's
// "config" record them.
inline nlohmann::json run_config(nlohmann::json options, const ModelConfig& config) {
    options["seed"] = config.seed;
    options["device"] = std::string(device_name(config.device));
    if (config.bug != Bug::None) options["bug"] = bug_name(config.bug);
    return options;
}

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
    // Resuming at `step`: models that count steps themselves (n_critic) pick up from it.
    virtual void set_step(int64_t step) { (void)step; }

    // The networks and optimizers, by name ("G", "D"), for checkpoints.
    virtual std::vector<std::pair<std::string, nn::Module*>> modules() = 0;
    virtual std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() = 0;
};

}  // namespace mg::models
