// RMSprop, as torch.optim.RMSprop:
//   g = grad + weight_decay * p
//   square_avg = alpha * square_avg + (1 - alpha) * g^2
//   centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g
//              avg = sqrt(square_avg - grad_avg^2) + eps
//   else:      avg = sqrt(square_avg) + eps
//   momentum:  buf = momentum * buf + g / avg;  p -= lr * buf
//   else:      p -= lr * g / avg
// State per parameter: "square_avg", "momentum_buffer" when momentum > 0, "grad_avg"
// when centered.
#pragma once

#include "optim/optimizer.h"

namespace mg::optim {

struct RMSpropOptions {
    double lr = 1e-2;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
};

class RMSprop : public Optimizer {
public:
    explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
    // Groups may override "alpha", "eps", "weight_decay", "momentum", "centered" (0/1) and lr.
    explicit RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults = {});

protected:
    void update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) override;
    std::vector<std::string> buffer_names(const ParamGroup& group) const override;
    void check_group(const ParamGroup& group) const override;
};

}  // namespace mg::optim
