// SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD:
//   g = grad + weight_decay * p
//   buf = g                                    (first update)
//   buf = momentum * buf + (1 - dampening) * g (later updates)
//   g = nesterov ? g + momentum * buf : buf    (when momentum != 0)
//   p -= lr * g
// State per parameter: "momentum_buffer" when momentum != 0.
#pragma once

#include "optim/optimizer.h"

namespace mg::optim {

struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;  // needs momentum > 0 and dampening == 0
};

class SGD : public Optimizer {
public:
    explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});
    // Groups may override "momentum", "dampening", "weight_decay", "nesterov" (0/1) and lr.
    explicit SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults = {});

protected:
    void update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) override;
    std::vector<std::string> buffer_names(const ParamGroup& group) const override;
    void check_group(const ParamGroup& group) const override;
};

}  // namespace mg::optim
