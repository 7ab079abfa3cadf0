// The VAE family's registry entries (models/vae/vae_model.h).
#include "models/families.h"
#include "models/vae/vae_model.h"

namespace mg::models {

std::vector<ModelInfo> vae_models() {
    return {
        {"vae", "VAE on Fashion-MNIST (workloads.md): MLP 784-400-20 encoder and decoder, Bernoulli pixels, Adam 1e-3, "
                "batch 128",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Mlp, c); }, 10, 0},
        {"cvae", "class-conditional VAE: one-hot labels beside the image at the encoder and beside z at the decoder",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Conditional, c); }, 10, 0},
        {"convvae", "convolutional VAE: Conv 32-64 encoder, ConvTranspose 64-32-1 decoder, latent 20",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Conv, c); }, 10, 0},
    };
}

}  // namespace mg::models
