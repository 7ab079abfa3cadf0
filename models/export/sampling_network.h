// What a model's sampling amounts to, as one network on given draws: the piece of a trained
// model that `minigen export` writes out, and minigen's own output for the same draws to check
// the written file against.
//
//   dcgan, wgan-gp      z [N, z_dim]                   -> generator            -> image [N, C, S, S] in [-1, 1]
//   cgan                z [N, z_dim], labels int64 [N] -> generator(cat(z, one_hot(labels))) -> image
//   vae, convvae        z [N, latent]                  -> sigmoid(decoder)     -> image [N, C, S, S] in [0, 1]
//   cvae                z, labels                      -> sigmoid(decoder(cat(z, one_hot(labels))))
//   pixelcnn            x [N, C, S, S] in [0, 1]       -> network -> logits [N, C*256, S, S]
//                       (one forward: sampling runs it once per pixel on the image so far)
//   gated-pixelcnn      x (+ labels)                   -> network (no ONNX form yet: export names it)
//
// The network is the one sample() runs (a GAN's EMA generator when it has one), in eval mode.
// Other models (gan2d, ...) have none of these forms: sampling_network() names them.
#pragma once

#include <functional>
#include <string>

#include "core/nn/module.h"
#include "models/model.h"

namespace mg::models {

struct SamplingNetwork {
    std::string model;      // the model's name, for messages
    nn::Module* network = nullptr;  // owned by the model
    int64_t z_dim = 0;      // features of the input draw z (0: the input is an image)
    Shape input_image{};    // {C, S, S} when the input is an image x in [0, 1] (the PixelCNNs)
    int64_t classes = 0;    // > 0: labels int64 [N] in [0, classes) too, one-hot after z
    Shape output;           // {C, S, S}: the image, or the PixelCNN's logits {C*256, S, S}
    bool sigmoid = false;   // the network makes logits; sampling takes their sigmoid
    // minigen's own output on these inputs (labels undefined when classes == 0): sample() on
    // given draws, or the PixelCNN's forward. What an exported file is checked against.
    std::function<Tensor(const Tensor& input, const Tensor& labels)> reference;
};

// The model's sampling network; an mg::Error naming the model when it has none.
SamplingNetwork sampling_network(Model& model);

}  // namespace mg::models
