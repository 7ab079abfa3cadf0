// The registry entries each model family contributes (collected in models/registry.cpp).
#pragma once

#include <vector>

#include "models/registry.h"

namespace mg::models {

std::vector<ModelInfo> gan2d_models();           // models/gan/gan2d.cpp
std::vector<ModelInfo> image_gan_models();       // models/gan/image_gans.cpp
std::vector<ModelInfo> vae_models();             // models/vae/
std::vector<ModelInfo> pixelcnn_models();        // models/pixelcnn/ (pixelcnn and the gated ones)
std::vector<ModelInfo> classifier_models();      // models/classifier/
std::vector<ModelInfo> pix2pix_models();         // models/gan/pix2pix.cpp
std::vector<ModelInfo> style_models();           // models/style/fast_style.cpp
std::vector<ModelInfo> cyclegan_models();        // models/gan/cyclegan.cpp
std::vector<ModelInfo> progan_models();          // models/gan/progan.cpp

}  // namespace mg::models
