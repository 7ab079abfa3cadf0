// Sequential: runs its children in order, the output of each the input of the next. A Linear or
// Conv2d with a bias directly followed by ReLU or LeakyReLU runs as the layer without its bias
// and one fused bias_leaky_relu node; a BatchNorm1d/2d so followed, as one batch_norm_act node
// (same numbers, one pass each way fewer).
// Children are named "0", "1", ... as in PyTorch, so a Sequential's state_dict
// reads "0.weight", "1.running_mean", "3.0.bias".
//
//   auto net = std::make_shared<nn::Sequential>(
//       std::make_shared<nn::Linear>(2, 128), std::make_shared<nn::LeakyReLU>(0.2),
//       std::make_shared<nn::Linear>(128, 1));
#pragma once

#include <memory>
#include <vector>

#include "core/nn/module.h"

namespace mg::nn {

class Sequential : public Module {
public:
    Sequential() = default;
    template <class M, class... Ms> explicit Sequential(std::shared_ptr<M> first, std::shared_ptr<Ms>... rest) {
        push_back(std::move(first));
        (push_back(std::move(rest)), ...);
    }
    explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules) {
        for (const auto& m : modules) push_back(m);
    }

    // Appends a child named after its position; returns it, typed.
    template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
        auto child = register_module(std::to_string(layers_.size()), std::move(module));
        layers_.push_back(child);
        return child;
    }

    Tensor forward(const Tensor& x) override;
    size_t size() const { return layers_.size(); }
    bool empty() const { return layers_.empty(); }
    std::shared_ptr<Module> operator[](size_t i) const;
    // The i-th child as an M; throws if it is another type.
    template <class M> std::shared_ptr<M> at(size_t i) const {
        auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
        MG_CHECK(typed != nullptr, "Sequential: child {} is a {}, not the type asked for", i, (*this)[i]->type_name());
        return typed;
    }
    std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return layers_.begin(); }
    std::vector<std::shared_ptr<Module>>::const_iterator end() const { return layers_.end(); }

private:
    std::vector<std::shared_ptr<Module>> layers_;  // the children, in order
};

}  // namespace mg::nn
