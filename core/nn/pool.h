// Pooling layers (PyTorch's nn.MaxPool2d / nn.AvgPool2d): no parameters, NCHW.
//   OH = (H + 2p - k) / s + 1, with s = k when stride is 0
#pragma once

#include "core/nn/module.h"
#include "core/ops.h"

namespace mg::nn {

// The geometry both pooling layers share, and its printout.
class Pool2d : public Module {
public:
    explicit Pool2d(Pair kernel_size, Pair stride = 0, Pair padding = 0);
    std::string extra_repr() const override;
    Pair kernel_size, stride, padding;
};

class MaxPool2d : public Pool2d {
public:
    using Pool2d::Pool2d;
    Tensor forward(const Tensor& x) override;
};

class AvgPool2d : public Pool2d {
public:
    using Pool2d::Pool2d;
    Tensor forward(const Tensor& x) override;
};

}  // namespace mg::nn
