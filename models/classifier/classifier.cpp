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

struct ClassifierOptions {
    int64_t batch_size = 128;
    double lr = 1e-3;
    // A step decay for the last epochs: Adam at a constant 1e-3 keeps bouncing around
    // the minimum; a tenth of the rate for the last 3 of 10 epochs settles it.
    int64_t lr_decay_step = 7 * 468;

    template <class Self, class F>
    static void fields(Self& o, F&& f) {
        f("batch_size", o.batch_size, IntRange{1, kMaxBatch});
        f("lr", o.lr);
        f("lr_decay_step", o.lr_decay_step, IntRange{0, kMaxSteps});
    }
};

class Classifier : public Model {
public:
    explicit Classifier(const ModelConfig& config) : config_(config) {
        // Options (--config, or what a checkpoint recorded), then the command line's flags.
        read_options(options_, OptionReader("classifier options", config.options, options_to_json(options_)));
        MG_CHECK(options_.lr > 0, "classifier options: lr must be positive, got {}", options_.lr);
        if (config.batch_size > 0) options_.batch_size = config.batch_size;
        if (config.lr > 0) options_.lr = config.lr;
        manual_seed(config.seed);
        net_ = std::make_shared<ClassifierNet>();
        net_->to(config.device);
        optim::AdamOptions o;
        o.lr = options_.lr;
        opt_ = std::make_unique<optim::Adam>(net_->parameters(), o);
    }

    std::string name() const override { return "classifier"; }
    DataSpec data_spec() const override {
        DataSpec s;
        s.range = data::PixelRange::ZeroOne;
        s.labels = true;
        return s;
    }
    int64_t batch_size() const override { return options_.batch_size; }
    nlohmann::json config() const override {
        nlohmann::json j = options_to_json(options_);
        j["seed"] = config_.seed;
        return j;
    }

    void set_step(int64_t step) override { step_ = step; }

    Metrics train_step(const data::Batch& batch) override {
        const int64_t decay_step = options_.lr_decay_step;
        const double lr = decay_step > 0 && step_ >= decay_step ? options_.lr * 0.1 : options_.lr;
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

    std::vector<std::pair<std::string, nn::Module*>> modules() override { return {{"classifier", net_.get()}}; }
    std::vector<std::pair<std::string, optim::Optimizer*>> optimizers() override { return {{"adam", opt_.get()}}; }

    ClassifierNet& net() { return *net_; }

private:
    ModelConfig config_;
    std::shared_ptr<ClassifierNet> net_;
    std::unique_ptr<optim::Adam> opt_;
    ClassifierOptions options_;
    int64_t step_ = 0;
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
