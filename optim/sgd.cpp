#include "optim/sgd.h"

#include "core/ops.h"

namespace mg::optim {

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options) : SGD(single_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& o)
    : Optimizer("sgd", o.lr, {{"momentum", o.momentum}, {"dampening", o.dampening},
                              {"weight_decay", o.weight_decay}, {"nesterov", o.nesterov ? 1.0 : 0.0}}) {
    add_param_groups(std::move(groups));
}

void SGD::check_group(const ParamGroup& g) const {
    check_nonnegative(name(), "momentum", g.option("momentum"));
    check_nonnegative(name(), "dampening", g.option("dampening"));
    check_nonnegative(name(), "weight_decay", g.option("weight_decay"));
    check_flag(name(), "nesterov", g.option("nesterov"));
    MG_CHECK(!g.flag("nesterov") || (g.option("momentum") > 0.0 && g.option("dampening") == 0.0),
             "sgd: nesterov momentum needs momentum > 0 and dampening == 0, got momentum {} and dampening {}",
             g.option("momentum"), g.option("dampening"));
}

std::vector<std::string> SGD::buffer_names(const ParamGroup& g) const {
    if (g.option("momentum") != 0.0) return {"momentum_buffer"};
    return {};
}

void SGD::update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) {
    const double momentum = group.option("momentum");
    const double weight_decay = group.option("weight_decay");
    Tensor d_p = grad;
    if (weight_decay != 0.0) d_p = add(grad, mul(param, weight_decay));
    if (momentum != 0.0) {
        auto it = state.buffers.find("momentum_buffer");
        if (it == state.buffers.end()) {
            it = state.buffers.emplace("momentum_buffer", d_p.clone()).first;
        } else {
            it->second.mul_(momentum).add_(d_p, 1.0 - group.option("dampening"));
        }
        const Tensor& buf = it->second;
        d_p = group.flag("nesterov") ? add(d_p, mul(buf, momentum)) : buf;
    }
    param.add_(d_p, -group.lr);
}

}  // namespace mg::optim
