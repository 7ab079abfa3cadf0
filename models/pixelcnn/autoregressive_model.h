// What the autoregressive image models (pixelcnn, gated-pixelcnn, row-lstm, imagegpt) share: the image
// options beside the model's own, one network trained by one Adam on a 256-level
// cross-entropy, the run's config, the data they ask for. Each model adds its network's
// forward, its sampler and what it alone has (labels, colour masking).
#pragma once

#include <memory>
#include <numbers>
#include <string>

#include "models/capabilities.h"
#include "models/image_data.h"
#include "models/model.h"
#include "models/options.h"
#include "models/pixelcnn/image_options.h"
#include "optim/adam.h"

namespace mg::models::pixelcnn {

// The training options each of them has: a model's options struct derives from this, and its
// fields() lists these with training_fields().
struct TrainingOptions {
    int64_t batch_size = 64;
    double lr = 1e-3;
    int64_t eval_batch = 128;  // likelihood(): images per forward

    template <class Self, class F>
    static void training_fields(Self& o, F&& f) {
        f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
        f("lr", o.lr);
        f("eval_batch", o.eval_batch, IntRange{1, kMaxBatch});
    }
    // Throws naming `what` unless lr is positive (the ranges are fields()' to check).
    void check_training(const std::string& what) const {
        MG_CHECK(lr > 0, "{}: lr must be positive, got {}", what, lr);
    }
};

template <class Net, class OwnOptions>
class AutoregressiveImageModel : public Model,
                                 public Sampler,
                                 public Likelihood,
                                 public Completion,
                                 public PixelLogits {
public:
    DataSpec data_spec() const override {
        DataSpec s = images_.spec();
        s.range = data::PixelRange::ZeroOne;  // the levels k/255; targets are round(255 x)
        return s;
    }
    int64_t batch_size() const override { return options_.batch_size; }
    nlohmann::json config() const override { return run_config(config_with_images(options_.to_json(), images_), config_); }

    std::vector<std::pair<std::string, nn::Module*>> modules() override { return {{"net", net_.get()}}; }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override {
        return {{optimizer_key_, opt_.get()}};
    }

    Net& net() { return *net_; }
    const OwnOptions& options() const { return options_; }

protected:
    // Reads the image options out of config.options, then the model's own from the rest over
    // `defaults` (errors open with `what`); --batch-size and --lr override theirs.
    AutoregressiveImageModel(const ModelConfig& config, const std::string& what, bool conditional,
                             OwnOptions defaults = {})
        : options_(std::move(defaults)), config_(config) {
        nlohmann::json options = config.options;
        images_ = take_image_options(options, what, conditional);
        options_.update_from(options);
        if (config.batch_size > 0) options_.batch_size = config.batch_size;
        if (config.lr > 0) options_.lr = config.lr;
    }

    // The network, its parameter names (checkpoint keys: `prefix` + the module path), on the
    // run's device, and its Adam, stored under `optimizer_key` in checkpoints.
    void set_network(std::shared_ptr<Net> net, const std::string& prefix, std::string optimizer_key = "net") {
        net_ = std::move(net);
        net_->name_parameters(prefix);
        if (config_.device != Device::CPU) net_->to(config_.device);
        opt_ = std::make_unique<optim::Adam>(net_->parameters(), optim::AdamOptions{.lr = options_.lr});
        optimizer_key_ = std::move(optimizer_key);
    }

    // One optimizer step on `loss` (nats per dimension): the metrics every model reports.
    // A non-finite loss is the trainer's to refuse (or keep, with --allow-nonfinite).
    Metrics optimize(const Tensor& loss) {
        opt_->zero_grad();
        loss.backward();
        opt_->step();
        const double nats = loss.item();
        return {{"loss", nats}, {"bits_per_dim", nats / std::numbers::ln2}};
    }

    OwnOptions options_;
    ImageDataOptions images_;  // the data, the images' size S and channels C, the classes
    ModelConfig config_;
    std::shared_ptr<Net> net_;
    std::unique_ptr<optim::Adam> opt_;

private:
    std::string optimizer_key_ = "net";
};

}  // namespace mg::models::pixelcnn
