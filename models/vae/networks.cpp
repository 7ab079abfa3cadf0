#include "models/vae/networks.h"

#include "core/ops.h"

namespace mg::models {

using namespace nn;

namespace {

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

ConvEncoder::ConvEncoder(int64_t latent) : latent_(latent) {
    MG_CHECK(latent > 0, "ConvEncoder: latent size must be positive, got {}", latent);
    conv1 = register_module("conv1", std::make_shared<Conv2d>(1, 32, 4, 2, 1));
    conv2 = register_module("conv2", std::make_shared<Conv2d>(32, 64, 4, 2, 1));
    fc = register_module("fc", std::make_shared<Linear>(64 * 7 * 7, 2 * latent));
}

DiagonalGaussian ConvEncoder::encode(const Tensor& x, const Tensor& condition) {
    MG_CHECK(!condition.defined(), "ConvEncoder: unconditional, but given a condition {}", condition.shape());
    MG_CHECK(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
             "ConvEncoder: expects images [B, 1, 28, 28], got {}", x.shape());
    Tensor h = (*fc)(relu((*conv2)(relu((*conv1)(x)))).flatten(1));
    return {h.slice(1, 0, latent_), h.slice(1, latent_, 2 * latent_)};
}

ConvDecoder::ConvDecoder(int64_t latent) {
    MG_CHECK(latent > 0, "ConvDecoder: latent size must be positive, got {}", latent);
    fc = register_module("fc", std::make_shared<Linear>(latent, 64 * 7 * 7));
    deconv1 = register_module("deconv1", std::make_shared<ConvTranspose2d>(64, 32, 4, 2, 1));
    deconv2 = register_module("deconv2", std::make_shared<ConvTranspose2d>(32, 1, 4, 2, 1));
}

Tensor ConvDecoder::decode(const Tensor& z, const Tensor& condition) {
    MG_CHECK(!condition.defined(), "ConvDecoder: unconditional, but given a condition {}", condition.shape());
    Tensor h = relu((*fc)(z)).view({z.size(0), 64, 7, 7});
    return (*deconv2)(relu((*deconv1)(h)));
}

}  // namespace mg::models
