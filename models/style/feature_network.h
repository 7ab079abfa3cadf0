// The frozen convolutional network whose activations define style transfer's losses.
//
// minigen cannot download VGG, so the features come from one of three networks:
//   emoji    the built-in emoji classifier (models/classifier/emoji.safetensors, trained on
//            3x32x32 emoji): its conv blocks, run at any size (they are fully convolutional)
//   fashion  the built-in Fashion-MNIST classifier (1x28x28 grey): colour images are made grey
//            first (ITU-R 601 luma), so the picture it optimises is grey
//   random   a seeded, randomly initialised deeper conv net (He-normal weights, no training):
//            random filters still make a rich bank of local statistics for Gram matrices
// Each network is a list of stages; stage k's output is "layer k" ([N, C_k, H_k, W_k], after
// its ReLU). The classifiers' stages are their blocks: conv3x3 ReLU (with the previous block's
// MaxPool2 in front). Weights never require grad; gradients flow only to the input.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/nn/nn.h"

namespace mg::style {

enum class FeatureKind { Emoji, Fashion, Random };
FeatureKind parse_feature_kind(const std::string& name);  // "emoji", "fashion", "random"; else an error naming them
std::string feature_kind_name(FeatureKind kind);

class FeatureNetwork {
public:
    // `seed` draws the random network's weights (the classifiers ignore it).
    explicit FeatureNetwork(FeatureKind kind, uint64_t seed = 0);

    FeatureKind kind() const { return kind_; }
    int64_t channels() const { return channels_; }          // what the input must have: 1 or 3
    int64_t default_size() const { return default_size_; }  // the side images are resized to by default
    int64_t layers() const { return int64_t(stages_.size()); }
    int64_t content_layer() const { return content_layer_; }  // Gatys: one middle layer
    // x [N, channels, H, W] in [0, 1] -> the activations of every layer, shallow to deep.
    std::vector<Tensor> activations(const Tensor& x) const;
    void to(Device device) { owner_->to(device); }

private:
    FeatureKind kind_;
    int64_t channels_ = 3, default_size_ = 64, content_layer_ = 1;
    std::vector<std::shared_ptr<nn::Sequential>> stages_;
    std::shared_ptr<nn::Module> owner_;  // holds the weights the stages share
};

}  // namespace mg::style
