#include "models/families.h"

namespace mg::models {

std::vector<ModelInfo> pixelcnn_models() { return {}; }

}  // namespace mg::models
