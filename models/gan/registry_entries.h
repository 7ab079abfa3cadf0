// The registry entries each model family contributes (collected in models/registry.cpp).
#pragma once

#include <vector>

#include "models/registry.h"

namespace mg::models {

std::vector<ModelInfo> gan2d_models();
std::vector<ModelInfo> image_gan_models();

}  // namespace mg::models
