#include "models/families.h"
#include "models/pixelcnn/pixelcnn.h"

namespace mg::models {

std::vector<ModelInfo> pixelcnn_models() {
    return {
        {"pixelcnn",
         "PixelCNN on Fashion-MNIST (workloads.md): masked 7x7 convs (A, then 7 x B) with BatchNorm, 256-way "
         "softmax per pixel, Adam 1e-3, batch 64; cached fast sampler",
         [](const ModelConfig& c) { return std::make_unique<pixelcnn::PixelCnnModel>(c); }, 1, 0},
    };
}

}  // namespace mg::models
