#include "core/nn/sequential.h"

namespace mg::nn {

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (const auto& layer : layers_) y = layer->forward(y);
    return y;
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
    MG_CHECK(i < layers_.size(), "Sequential: index {} out of range for {} modules", i, layers_.size());
    return layers_[i];
}

}  // namespace mg::nn
