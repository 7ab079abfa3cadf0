#include "core/nn/sequential.h"

#include <optional>
#include <typeinfo>

#include "core/nn/activation.h"
#include "core/nn/conv.h"
#include "core/nn/linear.h"
#include "core/ops.h"

namespace mg::nn {

namespace {

// A Linear (on [B, F]) or Conv2d with a bias, followed by ReLU or LeakyReLU with a slope >= 0:
// the layer without its bias, then bias_leaky_relu, one node and one pass each way instead of
// an add and an activation (kernels/bias_act.h). The numbers are those of the two modules run
// one after the other. Exact types only: a subclass (MaskedConv2d) computes its own forward.
std::optional<Tensor> fused_bias_activation(const Module& layer, const Module& next, const Tensor& x) {
    double slope = 0.0;
    if (typeid(next) == typeid(LeakyReLU))
        slope = static_cast<const LeakyReLU&>(next).negative_slope;
    else if (typeid(next) != typeid(ReLU))
        return std::nullopt;
    if (slope < 0.0) return std::nullopt;
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
            if (std::optional<Tensor> fused = fused_bias_activation(*layers_[i], *layers_[i + 1], y)) {
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
