#include "models/families.h"

namespace mg::models {

std::vector<ModelInfo> gated_pixelcnn_models() { return {}; }

}  // namespace mg::models
