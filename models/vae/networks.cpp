#include "models/vae/networks.h"

#include <algorithm>

#include "core/ops.h"
#include "models/image_shape.h"

namespace mg::models {

using namespace nn;

namespace {

// Channels of the convolutional networks' block b (0: next to the image): 32, 64, 128, 256, 256, ...
int64_t conv_channels(int64_t block) { return int64_t(32) << std::min<int64_t>(block, 3); }

// [B, F] with the condition appended when there is one: [B, F + classes].
Tensor with_condition(const Tensor& features, const Tensor& condition, int64_t classes, const char* who) {
    if (classes == 0) {
        MG_CHECK(!condition.defined(), "{}: built without classes, but given a condition {}", who,
                 condition.shape());
        return features;
    }
    MG_CHECK(condition.defined() && condition.dim() == 2 && condition.size(0) == features.size(0) &&
                 condition.size(1) == classes,
             "{}: needs a one-hot condition [{}, {}], got {}", who, features.size(0), classes,
             condition.defined() ? condition.shape().str() : std::string("none"));
    return cat({features, condition}, 1);
}

}  // namespace

MlpEncoder::MlpEncoder(int64_t in_features, int64_t hidden, int64_t latent, int64_t classes)
    : latent_(latent), classes_(classes) {
    MG_CHECK(in_features > 0 && hidden > 0 && latent > 0 && classes >= 0,
             "MlpEncoder: sizes must be positive (in {}, hidden {}, latent {}, classes {})", in_features, hidden,
             latent, classes);
    fc1 = register_module("fc1", std::make_shared<Linear>(in_features + classes, hidden));
    mu = register_module("mu", std::make_shared<Linear>(hidden, latent));
    logvar = register_module("logvar", std::make_shared<Linear>(hidden, latent));
}

DiagonalGaussian MlpEncoder::encode(const Tensor& x, const Tensor& condition) {
    Tensor h = relu((*fc1)(with_condition(x.flatten(1), condition, classes_, "MlpEncoder")));
    return {(*mu)(h), (*logvar)(h)};
}

MlpDecoder::MlpDecoder(int64_t latent, int64_t hidden, Shape image_shape, int64_t classes)
    : image_shape_(image_shape), classes_(classes) {
    MG_CHECK(latent > 0 && hidden > 0 && image_shape.size() == 3 && image_shape.numel() > 0 && classes >= 0,
             "MlpDecoder: bad sizes (latent {}, hidden {}, image {}, classes {})", latent, hidden, image_shape,
             classes);
    fc1 = register_module("fc1", std::make_shared<Linear>(latent + classes, hidden));
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden, image_shape.numel()));
}

Tensor MlpDecoder::decode(const Tensor& z, const Tensor& condition) {
    Tensor h = relu((*fc1)(with_condition(z, condition, classes_, "MlpDecoder")));
    return (*fc2)(h).view({z.size(0), image_shape_[0], image_shape_[1], image_shape_[2]});
}

ConvEncoder::ConvEncoder(int64_t latent, int64_t channels, int64_t size)
    : latent_(latent), channels_(channels), size_(size) {
    MG_CHECK(latent > 0, "ConvEncoder: latent size must be positive, got {}", latent);
    MG_CHECK(channels == 1 || channels == 3, "ConvEncoder: channels must be 1 or 3, got {}", channels);
    const ImageShape shape = image_shape(size);
    // Made in order conv1, conv2, ..., fc: the 28x28 networks' weights draw as they always did.
    int64_t in = channels;
    for (int64_t b = 0; b < shape.blocks; ++b) {
        convs.push_back(register_module(fmt::format("conv{}", b + 1),
                                        std::make_shared<Conv2d>(in, conv_channels(b), 4, 2, 1)));
        in = conv_channels(b);
    }
    fc = register_module("fc", std::make_shared<Linear>(in * shape.base * shape.base, 2 * latent));
}

DiagonalGaussian ConvEncoder::encode(const Tensor& x, const Tensor& condition) {
    MG_CHECK(!condition.defined(), "ConvEncoder: unconditional, but given a condition {}", condition.shape());
    MG_CHECK(x.dim() == 4 && x.size(1) == channels_ && x.size(2) == size_ && x.size(3) == size_,
             "ConvEncoder: expects images [B, {}, {}, {}], got {}", channels_, size_, size_, x.shape());
    Tensor h = x;
    for (auto& conv : convs) h = relu((*conv)(h));
    h = (*fc)(h.flatten(1));
    return {h.slice(1, 0, latent_), h.slice(1, latent_, 2 * latent_)};
}

ConvDecoder::ConvDecoder(int64_t latent, int64_t channels, int64_t size) : channels_(channels), size_(size) {
    MG_CHECK(latent > 0, "ConvDecoder: latent size must be positive, got {}", latent);
    MG_CHECK(channels == 1 || channels == 3, "ConvDecoder: channels must be 1 or 3, got {}", channels);
    const ImageShape shape = models::image_shape(size);  // not the member image_shape()
    base_ = shape.base;
    top_channels_ = conv_channels(shape.blocks - 1);
    // Made in order fc, deconv1, deconv2, ...: as the 28x28 decoder always was.
    fc = register_module("fc", std::make_shared<Linear>(latent, top_channels_ * base_ * base_));
    for (int64_t b = shape.blocks - 1; b >= 0; --b) {
        const int64_t out = b == 0 ? channels : conv_channels(b - 1);
        deconvs.push_back(register_module(fmt::format("deconv{}", shape.blocks - b),
                                          std::make_shared<ConvTranspose2d>(conv_channels(b), out, 4, 2, 1)));
    }
}

Tensor ConvDecoder::decode(const Tensor& z, const Tensor& condition) {
    MG_CHECK(!condition.defined(), "ConvDecoder: unconditional, but given a condition {}", condition.shape());
    Tensor h = relu((*fc)(z)).view({z.size(0), top_channels_, base_, base_});
    for (size_t i = 0; i < deconvs.size(); ++i) {
        h = (*deconvs[i])(h);
        if (i + 1 < deconvs.size()) h = relu(h);
    }
    return h;
}

}  // namespace mg::models
