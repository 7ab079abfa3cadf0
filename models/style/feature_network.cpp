#include "models/style/feature_network.h"

#include "core/nn/init.h"
#include "core/random.h"
#include "models/classifier/classifier.h"
#include "models/eval/reference_classifier.h"

namespace mg::style {

FeatureKind parse_feature_kind(const std::string& name) {
    if (name == "emoji") return FeatureKind::Emoji;
    if (name == "fashion") return FeatureKind::Fashion;
    if (name == "random") return FeatureKind::Random;
    MG_FAIL("features '{}': expected emoji, fashion or random", name);
}

std::string feature_kind_name(FeatureKind kind) {
    switch (kind) {
        case FeatureKind::Emoji: return "emoji";
        case FeatureKind::Fashion: return "fashion";
        case FeatureKind::Random: return "random";
    }
    return "?";
}

namespace {

// A private copy of a built-in classifier (the shared one scores samples elsewhere).
std::shared_ptr<models::ClassifierNet> classifier_copy(const std::string& builtin) {
    const models::ClassifierNet& frozen = eval::ReferenceClassifier::get(builtin).network();
    auto net = std::make_shared<models::ClassifierNet>(frozen.shape());
    net->load_state_dict(frozen.state_dict());
    return net;
}

// A trunk up to its Flatten, cut after every ReLU: [conv relu], [pool conv relu], ... What
// follows the last ReLU (the classifier's last pool) no loss reads, so it is left out.
std::vector<std::shared_ptr<nn::Sequential>> relu_stages(const nn::Sequential& trunk) {
    std::vector<std::shared_ptr<nn::Sequential>> stages;
    auto pending = std::make_shared<nn::Sequential>();
    for (const auto& layer : trunk) {
        if (dynamic_cast<const nn::Flatten*>(layer.get())) break;
        pending->push_back(layer);
        if (dynamic_cast<const nn::ReLU*>(layer.get())) {
            stages.push_back(pending);
            pending = std::make_shared<nn::Sequential>();
        }
    }
    return stages;
}

// The random network: VGG's pattern at a smaller width. Channels per conv, 0 = AvgPool2
// (average pooling: Gatys found it gives smoother results than max pooling).
constexpr int64_t kRandomPlan[] = {32, 32, 0, 64, 64, 0, 128, 128, 0, 256};

std::shared_ptr<nn::Sequential> random_trunk(uint64_t seed) {
    manual_seed(seed);
    auto trunk = std::make_shared<nn::Sequential>();
    int64_t c = 3;
    for (int64_t out : kRandomPlan) {
        if (out == 0) {
            trunk->push_back(std::make_shared<nn::AvgPool2d>(2));
            continue;
        }
        auto conv = trunk->push_back(std::make_shared<nn::Conv2d>(c, out, 3, 1, 1));
        nn::init::kaiming_normal_(conv->weight);  // keeps activations' scale through the ReLUs
        nn::init::zeros_(conv->bias);
        trunk->push_back(std::make_shared<nn::ReLU>());
        c = out;
    }
    return trunk;
}

}  // namespace

FeatureNetwork::FeatureNetwork(FeatureKind kind, uint64_t seed) : kind_(kind) {
    std::shared_ptr<nn::Sequential> trunk;
    if (kind == FeatureKind::Random) {
        trunk = random_trunk(seed);
        owner_ = trunk;
        channels_ = 3, default_size_ = 64, content_layer_ = 3;  // the second block's second conv (VGG's conv2_2)
    } else {
        auto net = classifier_copy(kind == FeatureKind::Emoji ? "emoji" : "fashion-mnist");
        trunk = net->trunk;
        owner_ = net;
        channels_ = net->shape().channels;
        default_size_ = kind == FeatureKind::Emoji ? 64 : net->shape().height;
        content_layer_ = 1;  // the second block: shapes, not yet class evidence
    }
    for (const Tensor& p : owner_->parameters()) p.requires_grad_(false);
    owner_->eval();
    stages_ = relu_stages(*trunk);
    MG_CHECK(content_layer_ < int64_t(stages_.size()), "features {}: {} layers, content layer {}",
             feature_kind_name(kind), stages_.size(), content_layer_);
}

std::vector<Tensor> FeatureNetwork::activations(const Tensor& x) const {
    MG_CHECK(x.dim() == 4 && x.size(1) == channels_, "{} features: expected images [N, {}, H, W], got {}",
             feature_kind_name(kind_), channels_, x.shape());
    std::vector<Tensor> out;
    Tensor h = x;
    for (const auto& stage : stages_) {
        h = (*stage)(h);
        out.push_back(h);
    }
    return out;
}

}  // namespace mg::style
