// The VAE networks: an encoder x -> q(z|x) = N(mu, diag(exp(logvar))) and a decoder
// z -> Bernoulli logits p(x|z), as an MLP pair (vae, cvae; workloads.md) and a
// convolutional pair (convvae). Conditional models pass a one-hot label `condition`
// [B, classes] beside the input of both; unconditional ones pass an undefined tensor.
//
// Member names follow tools/reference/train_vae_torch.py, so state_dict names match:
//   MLP encoder:  fc1, mu, logvar            MLP decoder:  fc1, fc2
//   conv encoder: conv1, conv2, fc           conv decoder: fc, deconv1, deconv2
// (at 28x28; larger images add conv3, ... and deconv3, ...).
#pragma once

#include <utility>
#include <vector>

#include "core/nn/nn.h"

namespace mg::models {

// The Gaussian q(z|x): mu and logvar [B, latent].
struct DiagonalGaussian {
    Tensor mu, logvar;
    // z = mu + sigma * eps, the reparameterisation; eps [..., B, latent] broadcasts against mu [B, latent].
    Tensor sample(const Tensor& eps) const { return mu + exp(0.5 * logvar) * eps; }
};

class VaeEncoder : public nn::Module {
public:
    // x [B, C, H, W] in [0, 1], condition [B, classes] or undefined -> q(z|x)
    virtual DiagonalGaussian encode(const Tensor& x, const Tensor& condition) = 0;
    virtual int64_t latent_dim() const = 0;
};

class VaeDecoder : public nn::Module {
public:
    // z [B, latent], condition [B, classes] or undefined -> Bernoulli logits [B, C, H, W]
    virtual Tensor decode(const Tensor& z, const Tensor& condition) = 0;
    virtual Shape image_shape() const = 0;  // {C, H, W}
};

// [B, C*H*W (+ classes)] -> Linear(in, hidden) ReLU -> {Linear(hidden, latent) = mu, Linear(hidden, latent) = logvar}
class MlpEncoder : public VaeEncoder {
public:
    MlpEncoder(int64_t in_features, int64_t hidden, int64_t latent, int64_t classes = 0);
    DiagonalGaussian encode(const Tensor& x, const Tensor& condition) override;
    int64_t latent_dim() const override { return latent_; }
    std::shared_ptr<nn::Linear> fc1, mu, logvar;

private:
    int64_t latent_, classes_;
};

// [B, latent (+ classes)] -> Linear(., hidden) ReLU -> Linear(hidden, C*H*W) -> logits [B, C, H, W]
class MlpDecoder : public VaeDecoder {
public:
    MlpDecoder(int64_t latent, int64_t hidden, Shape image_shape, int64_t classes = 0);
    Tensor decode(const Tensor& z, const Tensor& condition) override;
    Shape image_shape() const override { return image_shape_; }
    std::shared_ptr<nn::Linear> fc1, fc2;

private:
    Shape image_shape_;
    int64_t classes_;
};

// The convolutional pair for C x S x S images, S = base * 2^k (models/image_shape.h): k
// stride-2 blocks between the image and a base x base map, block i with
// 32 * 2^i channels (at most 256). At 1 x 28 x 28 (k = 2):
//   [B, 1, 28, 28] -> Conv(1,32,4,2,1) ReLU (14x14) -> Conv(32,64,4,2,1) ReLU (7x7) -> Flatten
//   -> Linear(3136, 2*latent) -> {mu, logvar} (the first and second half)
// 3 x 32 x 32: 32, 64, 128 channels down to 4x4; 3 x 64 x 64: 32 ... 256 down to 4x4.

class ConvEncoder : public VaeEncoder {
public:
    ConvEncoder(int64_t latent, int64_t channels = 1, int64_t size = 28);
    DiagonalGaussian encode(const Tensor& x, const Tensor& condition) override;
    int64_t latent_dim() const override { return latent_; }
    std::vector<std::shared_ptr<nn::Conv2d>> convs;  // conv1 ... convk
    std::shared_ptr<nn::Linear> fc;

private:
    int64_t latent_, channels_, size_;
};

// The mirror: [B, latent] -> Linear(latent, top*base*base) ReLU -> (top, base, base)
//   -> k ConvT(.,.,4,2,1), ReLU between them, the last to C channels -> logits [B, C, S, S].
// At 1 x 28 x 28: Linear(latent, 3136) ReLU -> (64, 7, 7) -> ConvT(64,32,4,2,1) ReLU (14x14)
//   -> ConvT(32,1,4,2,1) -> logits [B, 1, 28, 28]
class ConvDecoder : public VaeDecoder {
public:
    ConvDecoder(int64_t latent, int64_t channels = 1, int64_t size = 28);
    Tensor decode(const Tensor& z, const Tensor& condition) override;
    Shape image_shape() const override { return {channels_, size_, size_}; }
    std::shared_ptr<nn::Linear> fc;
    std::vector<std::shared_ptr<nn::ConvTranspose2d>> deconvs;  // deconv1 ... deconvk

private:
    int64_t channels_, size_, base_, top_channels_;
};

}  // namespace mg::models
