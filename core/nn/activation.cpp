#include "core/nn/activation.h"

#include "core/nn/format.h"
#include "core/ops.h"

namespace mg::nn {

using fmt_detail::py_float;

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::extra_repr() const { return "negative_slope=" + py_float(negative_slope); }

Tensor ELU::forward(const Tensor& x) { return elu(x, alpha); }
std::string ELU::extra_repr() const { return "alpha=" + py_float(alpha); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Softplus::forward(const Tensor& x) {
    Tensor bx = beta == 1.0 ? x : x * beta;
    Tensor y = beta == 1.0 ? softplus(bx) : softplus(bx) / beta;
    return where(gt(bx, threshold), x, y);
}
std::string Softplus::extra_repr() const { return "beta=" + py_float(beta) + ", threshold=" + py_float(threshold); }

Tensor GELU::forward(const Tensor& x) { return gelu(x); }
std::string GELU::extra_repr() const { return "approximate='none'"; }

}  // namespace mg::nn
