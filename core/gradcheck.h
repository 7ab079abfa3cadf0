// Numerical gradient checks (central differences in float64), first and second order.
//
// gradcheck(f, inputs): for a random projection v of f's output, compares the
// analytic gradient of <v, f(x)> with (L(x + h e_i) - L(x - h e_i)) / 2h for every
// element of every input that requires grad.
// gradgradcheck(f, inputs): the same check applied to x -> <u, d<v, f(x)>/dx>, the
// gradient built with create_graph=true; it passes only if the backward formulas
// are themselves differentiated correctly.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mg {

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
    double eps = 1e-6;   // finite-difference step
    double atol = 1e-5;
    double rtol = 1e-3;
    uint64_t seed = 1234;  // for the random output projections
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;
    std::string message;  // which input and element failed, with both values
};

// Inputs must be float64 tensors; those with requires_grad are checked.
GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt = {});
GradcheckResult gradgradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& opt = {});

}  // namespace mg
