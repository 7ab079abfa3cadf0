// Dropout: in training, zeroes each element with probability p and scales the
// rest by 1/(1-p) (so the expectation is unchanged); in eval, the identity.
#pragma once

#include "core/nn/module.h"

namespace mg::nn {

class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    double p;
};

}  // namespace mg::nn
