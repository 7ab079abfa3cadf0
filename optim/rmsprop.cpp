#include "optim/rmsprop.h"

#include "core/ops.h"

namespace mg::optim {

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : RMSprop(single_group(std::move(params)), options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& o)
    : Optimizer("rmsprop", o.lr, {{"alpha", o.alpha}, {"eps", o.eps}, {"weight_decay", o.weight_decay},
                                  {"momentum", o.momentum}, {"centered", o.centered ? 1.0 : 0.0}}) {
    add_param_groups(std::move(groups));
}

void RMSprop::check_group(const ParamGroup& g) const {
    check_nonnegative(name(), "alpha", g.option("alpha"));
    MG_CHECK(g.option("alpha") <= 1.0, "rmsprop: alpha must be in [0, 1], got {}", g.option("alpha"));
    check_nonnegative(name(), "eps", g.option("eps"));
    check_nonnegative(name(), "weight_decay", g.option("weight_decay"));
    check_nonnegative(name(), "momentum", g.option("momentum"));
    check_flag(name(), "centered", g.option("centered"));
}

std::vector<std::string> RMSprop::buffer_names(const ParamGroup& g) const {
    std::vector<std::string> names{"square_avg"};
    if (g.option("momentum") > 0.0) names.push_back("momentum_buffer");
    if (g.flag("centered")) names.push_back("grad_avg");
    return names;
}

void RMSprop::update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) {
    const double alpha = group.option("alpha");
    const double eps = group.option("eps");
    const double weight_decay = group.option("weight_decay");
    const double momentum = group.option("momentum");
    Tensor g = grad;
    if (weight_decay != 0.0) g = add(grad, mul(param, weight_decay));

    Tensor& square_avg = buffer(state, "square_avg", param);
    square_avg.mul_(alpha).add_(mul(mul(g, 1.0 - alpha), g));
    Tensor avg;
    if (group.flag("centered")) {
        Tensor& grad_avg = buffer(state, "grad_avg", param);
        grad_avg.mul_(alpha).add_(g, 1.0 - alpha);
        avg = sqrt(sub(square_avg, mul(grad_avg, grad_avg)));
    } else {
        avg = sqrt(square_avg);
    }
    avg = add(avg, eps);
    if (momentum > 0.0) {
        Tensor& buf = buffer(state, "momentum_buffer", param);
        buf.mul_(momentum).add_(div(g, avg));
        param.add_(buf, -group.lr);
    } else {
        param.add_(div(mul(g, -group.lr), avg));
    }
}

}  // namespace mg::optim
