#include "models/classifier/classifier.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/random.h"
#include "models/families.h"
#include "models/image_data.h"
#include "models/options.h"
#include "optim/adam.h"

namespace mg::models {

ClassifierNet::ClassifierNet(const ClassifierShape& shape) : shape_(shape) {
    MG_CHECK(shape.channels == 1 || shape.channels == 3, "classifier: images must have 1 or 3 channels, got {}",
             shape.channels);
    MG_CHECK(shape.height >= 1 && shape.height <= 1024 && shape.width >= 1 && shape.width <= 1024,
             "classifier: image sides must lie in 1..1024, got {}x{}", shape.height, shape.width);
    MG_CHECK(shape.classes >= 2 && shape.classes <= 65536, "classifier: needs 2..65536 classes, got {}",
             shape.classes);
    // The layers' shapes first; their weights are then drawn last layer first: the original
    // network's layers were the arguments of one Sequential(...) call, which GCC evaluates
    // right to left, and drawing in that order keeps its initial weights (and so every
    // Fashion-MNIST run) bit for bit.
    std::vector<std::pair<int64_t, int64_t>> convs;  // (in, out) channels
    int64_t c = shape.channels, h = shape.height, w = shape.width;
    for (int64_t block = 0; h >= 8 && w >= 8; ++block, h /= 2, w /= 2) {
        const int64_t out = std::min<int64_t>(128, int64_t(32) << block);  // 32, 64, 128, 128, ...
        convs.emplace_back(c, out);
        c = out;
    }
    auto linear = std::make_shared<nn::Linear>(c * h * w, kFeatures);
    std::vector<std::shared_ptr<nn::Conv2d>> conv_layers(convs.size());
    for (size_t i = convs.size(); i-- > 0;)
        conv_layers[i] = std::make_shared<nn::Conv2d>(convs[i].first, convs[i].second, 3, 1, 1);
    auto seq = std::make_shared<nn::Sequential>();
    for (const auto& conv : conv_layers) {
        seq->push_back(conv);
        seq->push_back(std::make_shared<nn::ReLU>());
        seq->push_back(std::make_shared<nn::MaxPool2d>(2));
    }
    seq->push_back(std::make_shared<nn::Flatten>());
    seq->push_back(linear);
    seq->push_back(std::make_shared<nn::ReLU>());
    trunk = register_module("trunk", seq);
    head = register_module("head", std::make_shared<nn::Linear>(kFeatures, shape.classes));
}

Tensor ClassifierNet::features(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == shape_.channels && x.size(2) == shape_.height &&
                 x.size(3) == shape_.width,
             "classifier: expects images [N, {}, {}, {}], got {}", shape_.channels, shape_.height, shape_.width,
             x.shape());
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
        nlohmann::json options = config.options;
        images_ = ImageDataOptions::take(options, "classifier options", /*conditional=*/true);
        read_options(options_, OptionReader("classifier options", options, options_to_json(options_)));
        MG_CHECK(options_.lr > 0, "classifier options: lr must be positive, got {}", options_.lr);
        if (config.batch_size > 0) options_.batch_size = config.batch_size;
        if (config.lr > 0) options_.lr = config.lr;
        manual_seed(config.seed);
        MG_CHECK(images_.classes >= 2, "classifier: the data has {} class(es); it needs at least 2",
                 images_.classes);
        net_ = std::make_shared<ClassifierNet>(
            ClassifierShape{images_.channels, images_.image_size, images_.image_size, images_.classes});
        net_->to(config.device);
        optim::AdamOptions o;
        o.lr = options_.lr;
        opt_ = std::make_unique<optim::Adam>(net_->parameters(), o);
    }

    std::string name() const override { return "classifier"; }
    DataSpec data_spec() const override {
        DataSpec s = images_.spec();
        s.range = data::PixelRange::ZeroOne;
        s.labels = true;
        return s;
    }
    int64_t batch_size() const override { return options_.batch_size; }
    nlohmann::json config() const override {
        nlohmann::json j = options_to_json(options_);
        j.update(options_to_json(images_));  // the data's shape: a checkpoint rebuilds the same network
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
    const ImageDataOptions& images() const { return images_; }

private:
    ModelConfig config_;
    ImageDataOptions images_;
    std::shared_ptr<ClassifierNet> net_;
    std::unique_ptr<optim::Adam> opt_;
    ClassifierOptions options_;
    int64_t step_ = 0;
};

}  // namespace

static Classifier& as_classifier(Model& model) {
    auto* c = dynamic_cast<Classifier*>(&model);
    MG_CHECK(c != nullptr, "model '{}' is not the classifier", model.name());
    return *c;
}

ClassifierNet& classifier_network(Model& model) { return as_classifier(model).net(); }

std::string classifier_data(Model& model) { return as_classifier(model).images().data; }

std::vector<ModelInfo> classifier_models() {
    return {{"classifier",
             "the reference classifier whose features score samples (FID, KID, IS): Fashion-MNIST's, or one of "
             "any image data set (--data)",
             [](const ModelConfig& c) { return std::unique_ptr<Model>(new Classifier(c)); }, 10, 0,
             /*image_data=*/true}};
}

}  // namespace mg::models
