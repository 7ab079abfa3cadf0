// The VAE family's registry entries (models/vae/vae_model.h).
#include "models/families.h"
#include "models/vae/vae_model.h"

namespace mg::models {

std::vector<ModelInfo> vae_models() {
    return {
        {"vae", "VAE on Fashion-MNIST (workloads.md: MLP 784-400-20 encoder and decoder) or any image data set "
                "(--data: C*S*S inputs), Bernoulli pixels, Adam 1e-3, batch 128",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Mlp, c); }, 10, 0, /*image_data=*/true},
        {"cvae", "class-conditional VAE: one-hot labels beside the image at the encoder and beside z at the decoder",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Conditional, c); }, 10, 0,
         /*image_data=*/true},
        {"convvae", "convolutional VAE: Conv 32-64 encoder, ConvTranspose 64-32-1 decoder, latent 20 (a block more "
                    "per factor of 2 for larger images)",
         [](const ModelConfig& c) { return std::make_unique<VaeModel>(VaeKind::Conv, c); }, 10, 0,
         /*image_data=*/true},
    };
}

}  // namespace mg::models
