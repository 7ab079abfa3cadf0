// Activation modules: each applies its elementwise op from core/ops.h.
//   x: any shape -> the same shape
#pragma once

#include "core/nn/module.h"

namespace mg::nn {

class ReLU : public Module {  // max(x, 0)
public:
    Tensor forward(const Tensor& x) override;
};

class LeakyReLU : public Module {  // x > 0 ? x : negative_slope * x
public:
    explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    double negative_slope;
};

class ELU : public Module {  // x > 0 ? x : alpha * (e^x - 1)
public:
    explicit ELU(double alpha = 1.0) : alpha(alpha) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    double alpha;
};

class Tanh : public Module {
public:
    Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Module {  // 1 / (1 + e^-x)
public:
    Tensor forward(const Tensor& x) override;
};

// ln(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch,
// which reverts to the identity there for numerical stability).
class Softplus : public Module {
public:
    explicit Softplus(double beta = 1.0, double threshold = 20.0) : beta(beta), threshold(threshold) {}
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    double beta, threshold;
};

class GELU : public Module {  // exact: x * Phi(x)
public:
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
};

class Identity : public Module {
public:
    Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace mg::nn
