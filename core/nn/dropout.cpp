#include "core/nn/dropout.h"

#include "core/nn/format.h"
#include "core/ops.h"

namespace mg::nn {

Dropout::Dropout(double p_) : p(p_) {
    MG_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training()); }

// "inplace=False" as PyTorch prints it (minigen has no in-place variant).
std::string Dropout::extra_repr() const { return "p=" + fmt_detail::py_float(p) + ", inplace=False"; }

}  // namespace mg::nn
