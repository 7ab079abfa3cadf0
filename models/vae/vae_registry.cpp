#include "models/families.h"

namespace mg::models {

std::vector<ModelInfo> vae_models() { return {}; }

}  // namespace mg::models
