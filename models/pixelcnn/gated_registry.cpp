// The Gated PixelCNN's registry entries: the unconditional model and the class-conditional one.
#include "models/families.h"
#include "models/pixelcnn/gated_model.h"

namespace mg::models {

std::vector<ModelInfo> gated_pixelcnn_models() {
    return {
        {"gated-pixelcnn",
         "Gated PixelCNN (van den Oord et al. 2016): vertical + horizontal stacks, tanh*sigmoid units, no blind "
         "spot; 256-way softmax, Adam 1e-3, batch 64",
         [](const ModelConfig& c) { return std::make_unique<GatedPixelCnn>(c, false); }, 1, 0},
        {"gated-pixelcnn-cond", "class-conditional Gated PixelCNN: a learned per-class bias in every gated unit",
         [](const ModelConfig& c) { return std::make_unique<GatedPixelCnn>(c, true); }, 1, 0},
    };
}

}  // namespace mg::models
