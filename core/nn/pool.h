// Pooling layers (PyTorch's nn.MaxPool2d / nn.AvgPool2d): no parameters, NCHW.
//   OH = (H + 2p - k) / s + 1, with s = k when stride is 0
#pragma once

#include "core/nn/module.h"
#include "core/ops.h"

namespace mg::nn {

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(Pair kernel_size, Pair stride = 0, Pair padding = 0);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    Pair kernel_size, stride, padding;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(Pair kernel_size, Pair stride = 0, Pair padding = 0);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    Pair kernel_size, stride, padding;
};

}  // namespace mg::nn
