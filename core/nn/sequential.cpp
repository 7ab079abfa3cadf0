#include "core/nn/sequential.h"

#include <optional>
#include <typeinfo>

#include "core/nn/activation.h"
#include "core/nn/conv.h"
#include "core/nn/linear.h"
#include "core/nn/norm.h"
#include "core/ops.h"

namespace mg::nn {

namespace {

// ReLU, or LeakyReLU with a slope >= 0 (the fused kernels read the mask from the output's sign):
// the activation a fused layer takes; None for any other module.
BatchNormActivation fusable_activation(const Module& next) {
    if (typeid(next) == typeid(ReLU)) return {BatchNormActivation::Relu, 0.0};
    if (typeid(next) != typeid(LeakyReLU)) return {};
    const double slope = static_cast<const LeakyReLU&>(next).negative_slope;
    if (slope < 0.0) return {};
    return {BatchNormActivation::LeakyRelu, slope};
}

// A Linear (on [B, F]) or Conv2d with a bias, followed by ReLU or LeakyReLU with a slope >= 0:
// the layer without its bias, then bias_leaky_relu, one node and one pass each way instead of
// an add and an activation (kernels/bias_act.h). A BatchNorm1d/2d followed by either: its
// forward_act, batch_norm_act's one node (kernels/batch_norm.h). The numbers are those of the
// two modules run one after the other. Exact types only: a subclass (MaskedConv2d) computes its
// own forward.
std::optional<Tensor> fused_layer_activation(Module& layer, const Module& next, const Tensor& x) {
    const BatchNormActivation act = fusable_activation(next);
    if (act.kind == BatchNormActivation::None) return std::nullopt;
    if (typeid(layer) == typeid(BatchNorm2d) || typeid(layer) == typeid(BatchNorm1d))
        return static_cast<BatchNorm&>(layer).forward_act(x, act);
    const double slope = act.negative_slope();
    if (typeid(layer) == typeid(Linear)) {
        const auto& l = static_cast<const Linear&>(layer);
        if (!l.bias.defined() || x.dim() != 2) return std::nullopt;
        return bias_leaky_relu(linear(x, l.weight, Tensor()), l.bias, slope);
    }
    if (typeid(layer) == typeid(Conv2d)) {
        const auto& c = static_cast<const Conv2d&>(layer);
        if (!c.bias.defined()) return std::nullopt;
        return bias_leaky_relu(conv2d(x, c.weight, Tensor(), c.options), c.bias, slope);
    }
    return std::nullopt;
}

}  // namespace

Tensor Sequential::forward(const Tensor& x) {
    Tensor y = x;
    for (size_t i = 0; i < layers_.size(); ++i) {
        if (i + 1 < layers_.size()) {
            if (std::optional<Tensor> fused = fused_layer_activation(*layers_[i], *layers_[i + 1], y)) {
                y = *fused;
                ++i;
                continue;
            }
        }
        y = layers_[i]->forward(y);
    }
    return y;
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
    MG_CHECK(i < layers_.size(), "Sequential: index {} out of range for {} modules", i, layers_.size());
    return layers_[i];
}

}  // namespace mg::nn
