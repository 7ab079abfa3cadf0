// A hook a layer consults before its own forward: post-training quantization
// (models/quantize) installs one on Linear, Conv2d and ConvTranspose2d to observe each
// layer's input during calibration, and to answer in the layer's place with the int8
// kernels once the model is quantized.
#pragma once

#include <optional>

#include "core/tensor.h"

namespace mg::nn {

class ForwardHook {
public:
    virtual ~ForwardHook() = default;
    // The layer's output for x, or nullopt to let the layer run its float forward.
    virtual std::optional<Tensor> before_forward(const Tensor& x) = 0;
};

}  // namespace mg::nn
