// Linear: y = x·W^T + b.      x [..., in_features] -> y [..., out_features]
#pragma once

#include "core/nn/forward_hook.h"
#include "core/nn/module.h"

namespace mg::nn {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    void reset_parameters();  // init::layer_default_ (PyTorch's default)

    int64_t in_features, out_features;
    Tensor weight;  // [out_features, in_features]
    Tensor bias;    // [out_features]; undefined when built with bias = false
    std::shared_ptr<ForwardHook> hook;  // null but in calibration or a quantized model
};

}  // namespace mg::nn
