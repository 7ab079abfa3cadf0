#include "core/nn/linear.h"

#include "core/nn/format.h"
#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
    MG_CHECK(in >= 0 && out >= 0, "Linear: negative size (in_features={}, out_features={})", in, out);
    weight = register_parameter("weight", empty({out, in}));
    if (with_bias) bias = register_parameter("bias", empty({out}));
    reset_parameters();
}

void Linear::reset_parameters() { init::layer_default_(weight, bias); }

Tensor Linear::forward(const Tensor& x) {
    if (hook) [[unlikely]]
        if (std::optional<Tensor> y = hook->before_forward(x)) return *y;
    return linear(x, weight, bias);
}

std::string Linear::extra_repr() const {
    return fmt::format("in_features={}, out_features={}, bias={}", in_features, out_features,
                       fmt_detail::py_bool(bias.defined()));
}

}  // namespace mg::nn
