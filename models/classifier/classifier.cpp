#include "models/classifier/classifier.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/families.h"
#include "models/options.h"
#include "optim/adam.h"

namespace mg::models {

ClassifierNet::ClassifierNet() {
    trunk = register_module(
        "trunk", std::make_shared<nn::Sequential>(
                     std::make_shared<nn::Conv2d>(1, 32, 3, 1, 1), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Conv2d>(32, 64, 3, 1, 1),
                     std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>(),
                     std::make_shared<nn::Linear>(64 * 7 * 7, 128), std::make_shared<nn::ReLU>()));
    head = register_module("head", std::make_shared<nn::Linear>(128, 10));
}

Tensor ClassifierNet::features(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
             "classifier: expects images [N, 1, 28, 28], got {}", x.shape());
    return (*trunk)(x);
}

Tensor ClassifierNet::forward(const Tensor& x) { return (*head)(features(x)); }

double classifier_accuracy(ClassifierNet& net, const Tensor& images, const Tensor& labels) {
    MG_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0),
             "classifier_accuracy: {} labels for {} images", labels.numel(), images.size(0));
    autograd::NoGradGuard no_grad;
    bool was_training = net.is_training();
    net.eval();
    int64_t correct = 0;
    const int64_t n = images.size(0), chunk = 1000;
    for (int64_t i = 0; i < n; i += chunk) {
        int64_t m = std::min(chunk, n - i);
        Tensor pred = argmax(net(images.slice(0, i, i + m)), 1);
        correct += int64_t(sum(eq(pred, labels.slice(0, i, i + m)).to(DType::Float64)).item());
    }
    net.train(was_training);
    return n > 0 ? double(correct) / double(n) : 0.0;
}

namespace {

class Classifier : public Model {
public:
    explicit Classifier(const ModelConfig& config) : config_(config) {
        // Options (--config, or what a checkpoint recorded), then the command line's flags.
        const OptionReader options("classifier options", config.options,
                                   {{"batch_size", batch_}, {"lr", base_lr_}, {"lr_decay_step", decay_step_}});
        options.get("batch_size", batch_, 1, kMaxBatch);
        options.get("lr", base_lr_);
        options.get("lr_decay_step", decay_step_, 0, kMaxSteps);
        MG_CHECK(base_lr_ > 0, "classifier options: lr must be positive, got {}", base_lr_);
        if (config.batch_size > 0) batch_ = config.batch_size;
        if (config.lr > 0) base_lr_ = config.lr;
        manual_seed(config.seed);
        net_ = std::make_shared<ClassifierNet>();
        net_->to(config.device);
        optim::AdamOptions o;
        o.lr = base_lr_;
        opt_ = std::make_unique<optim::Adam>(net_->parameters(), o);
    }

    std::string name() const override { return "classifier"; }
    DataSpec data_spec() const override {
        DataSpec s;
        s.range = data::PixelRange::ZeroOne;
        s.labels = true;
        return s;
    }
    int64_t batch_size() const override { return batch_; }
    nlohmann::json config() const override {
        return {{"batch_size", batch_}, {"lr", base_lr_}, {"lr_decay_step", decay_step_}, {"seed", config_.seed}};
    }

    void set_step(int64_t step) override { step_ = step; }

    Metrics train_step(const data::Batch& batch) override {
        const double lr = decay_step_ > 0 && step_ >= decay_step_ ? base_lr_ * 0.1 : base_lr_;
        for (auto& g : opt_->param_groups()) g.lr = lr;
        ++step_;
        Tensor x = batch.images.to(config_.device), y = batch.labels.to(config_.device);
        Tensor logits = (*net_)(x);
        Tensor loss = cross_entropy(logits, y);
        opt_->zero_grad();
        loss.backward();
        opt_->step();
        autograd::NoGradGuard no_grad;
        double acc = sum(eq(argmax(logits, 1), y).to(DType::Float64)).item() / double(y.size(0));
        return {{"loss", loss.item()}, {"accuracy", acc}, {"lr", lr}};
    }

    Tensor sample(int64_t) override { return {}; }  // nothing to draw

    std::vector<std::pair<std::string, nn::Module*>> modules() override { return {{"classifier", net_.get()}}; }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override { return {{"adam", opt_.get()}}; }

    ClassifierNet& net() { return *net_; }

private:
    ModelConfig config_;
    std::shared_ptr<ClassifierNet> net_;
    std::unique_ptr<optim::Adam> opt_;
    int64_t batch_ = 128;
    double base_lr_ = 1e-3;
    // A step decay for the last epochs: Adam at a constant 1e-3 keeps bouncing around
    // the minimum; a tenth of the rate for the last 3 of 10 epochs settles it.
    int64_t decay_step_ = 7 * 468, step_ = 0;
};

}  // namespace

ClassifierNet& classifier_network(Model& model) {
    auto* c = dynamic_cast<Classifier*>(&model);
    MG_CHECK(c != nullptr, "model '{}' is not the classifier", model.name());
    return c->net();
}

std::vector<ModelInfo> classifier_models() {
    return {{"classifier", "the reference Fashion-MNIST classifier whose features score samples (FID, KID, IS)",
             [](const ModelConfig& c) { return std::unique_ptr<Model>(new Classifier(c)); }, 10, 0}};
}

}  // namespace mg::models
