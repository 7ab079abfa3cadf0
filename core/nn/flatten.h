// Flatten and Unflatten: reshapes as modules (views when the layout allows).
//   Flatten(1, -1):           [N, C, H, W] -> [N, C*H*W]
//   Unflatten(1, {C, H, W}):  [N, C*H*W]   -> [N, C, H, W]
#pragma once

#include <vector>

#include "core/nn/module.h"

namespace mg::nn {

class Flatten : public Module {
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t start_dim, end_dim;
};

class Unflatten : public Module {
public:
    // One entry of sizes may be -1 (inferred).
    Unflatten(int64_t dim, std::vector<int64_t> sizes);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t dim;
    std::vector<int64_t> sizes;
};

}  // namespace mg::nn
