// The unary activations of core/ops/activation.cpp as one list, for what runs over all of them:
// tests/test_gradcheck.cpp makes a gradcheck and a gradgradcheck case of each entry, so that a
// new activation is checked to second order without a test of its own.
#pragma once

#include <span>

#include "core/tensor.h"

namespace mg {

struct UnaryActivation {
    const char* name;
    Tensor (*apply)(const Tensor& x);  // with the parameters the checks use (leaky_relu: slope 0.2)
    double lo, hi;                     // inputs that show the curve (float64)
    bool kink_at_zero;                 // piecewise at 0: checks keep |x| away from it
};

std::span<const UnaryActivation> unary_activations();

}  // namespace mg
