#include "optim/adam.h"

#include <cmath>

#include "core/ops.h"
#include "kernels/optim.h"

namespace mg::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(single_group(std::move(params)), options) {}
Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults)
    : Adam("adam", false, std::move(groups), defaults) {}

Adam::Adam(std::string name, bool decoupled, std::vector<ParamGroup> groups, const AdamOptions& o)
    : Optimizer(std::move(name), o.lr, {{"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
                                        {"weight_decay", o.weight_decay}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}}),
      decoupled_(decoupled), fused_(o.fused) {
    add_param_groups(std::move(groups));
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : AdamW(single_group(std::move(params)), options) {}
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults)
    : Adam("adamw", true, std::move(groups), defaults) {}

void Adam::check_group(const ParamGroup& g) const {
    check_unit_interval(name(), "beta1", g.option("beta1"));
    check_unit_interval(name(), "beta2", g.option("beta2"));
    check_nonnegative(name(), "eps", g.option("eps"));
    check_nonnegative(name(), "weight_decay", g.option("weight_decay"));
    check_flag(name(), "amsgrad", g.option("amsgrad"));
}

std::vector<std::string> Adam::buffer_names(const ParamGroup& g) const {
    if (g.flag("amsgrad")) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
}

// The hyperparameters of one step of a parameter of `group` (`step` counts this update).
static kernels::AdamHyper adam_hyper(const ParamGroup& group, bool decoupled, int64_t step) {
    kernels::AdamHyper h;
    h.lr = group.lr;
    h.beta1 = group.option("beta1");
    h.beta2 = group.option("beta2");
    h.eps = group.option("eps");
    h.weight_decay = group.option("weight_decay");
    h.decoupled = decoupled;
    h.step = step;
    return h;
}

// The fused kernels read and write every tensor as a dense array (vmax: undefined without amsgrad).
static bool all_dense(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v, const Tensor& vmax) {
    return param.is_contiguous() && grad.is_contiguous() && m.is_contiguous() && v.is_contiguous() &&
           (!vmax.defined() || vmax.is_contiguous());
}

void Adam::update(Tensor param, const Tensor& grad, ParamState& state, const ParamGroup& group) {
    const kernels::AdamHyper h = adam_hyper(group, decoupled_, state.step);
    const bool amsgrad = group.flag("amsgrad");
    Tensor& m = buffer(state, "exp_avg", param);
    Tensor& v = buffer(state, "exp_avg_sq", param);
    Tensor vmax = amsgrad ? buffer(state, "max_exp_avg_sq", param) : Tensor();

    if (fused_ && all_dense(param, grad, m, v, vmax)) {  // the kernel of the parameter's device
        kernels::adam_update_table().get(param.device(), param.dtype())(
            param.raw_data(), grad.raw_data(), m.raw_data(), v.raw_data(), amsgrad ? vmax.raw_data() : nullptr,
            param.numel(), h);
        param.bump_version();
        m.bump_version();
        v.bump_version();
        if (amsgrad) vmax.bump_version();
        return;
    }

    // The same update as tensor ops (any device, any layout).
    Tensor g = grad;
    if (decoupled_) {
        if (h.weight_decay != 0.0) param.mul_(1.0 - h.lr * h.weight_decay);
    } else if (h.weight_decay != 0.0) {
        g = add(grad, mul(param, h.weight_decay));
    }
    m.mul_(h.beta1).add_(g, 1.0 - h.beta1);
    v.mul_(h.beta2).add_(mul(mul(g, 1.0 - h.beta2), g));
    Tensor v_hat = v;
    if (amsgrad) {
        vmax.copy_(maximum(vmax, v));
        v_hat = vmax;
    }
    const double bias_correction1 = 1.0 - std::pow(h.beta1, double(h.step));
    const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(h.beta2, double(h.step)));
    const TensorOptions like{param.dtype(), param.device()};
    Tensor denom = add(div(sqrt(v_hat), scalar_tensor(bias_correction2_sqrt, like)), h.eps);
    param.add_(div(mul(m, -h.lr / bias_correction1), denom));
}

// One adam_update_multi call for the group when it applies; else parameter by parameter.
void Adam::update_group(const ParamGroup& group, const std::vector<ParamUpdate>& updates) {
    const Tensor& first = updates.front().param;
    const int64_t step = updates.front().state->step;
    // A lone parameter gains nothing from the list (on the GPU it would cost a table upload).
    bool one_call = fused_ && updates.size() >= 2;
    for (const ParamUpdate& u : updates)
        one_call = one_call && u.param.device() == first.device() && u.param.dtype() == first.dtype() &&
                   u.state->step == step;
    if (!one_call) return Optimizer::update_group(group, updates);

    const bool amsgrad = group.flag("amsgrad");
    std::vector<Tensor> written;  // param, exp_avg, exp_avg_sq[, max_exp_avg_sq] of each parameter
    std::vector<void*> params, exp_avg, exp_avg_sq, max_exp_avg_sq;
    std::vector<const void*> grads;
    std::vector<int64_t> numels;
    for (const ParamUpdate& u : updates) {
        Tensor m = buffer(*u.state, "exp_avg", u.param);
        Tensor v = buffer(*u.state, "exp_avg_sq", u.param);
        Tensor vmax = amsgrad ? buffer(*u.state, "max_exp_avg_sq", u.param) : Tensor();
        if (!all_dense(u.param, u.grad, m, v, vmax)) return Optimizer::update_group(group, updates);
        params.push_back(u.param.raw_data());
        grads.push_back(u.grad.raw_data());
        exp_avg.push_back(m.raw_data());
        exp_avg_sq.push_back(v.raw_data());
        max_exp_avg_sq.push_back(amsgrad ? vmax.raw_data() : nullptr);
        numels.push_back(u.param.numel());
        written.insert(written.end(), {u.param, m, v});
        if (amsgrad) written.push_back(vmax);
    }
    kernels::AdamTensorList list;
    list.count = int64_t(updates.size());
    list.params = params.data();
    list.grads = grads.data();
    list.exp_avg = exp_avg.data();
    list.exp_avg_sq = exp_avg_sq.data();
    list.max_exp_avg_sq = max_exp_avg_sq.data();
    list.numels = numels.data();
    kernels::adam_update_multi_table().get(first.device(), first.dtype())(list, adam_hyper(group, decoupled_, step));
    for (const Tensor& t : written) t.bump_version();
}

// ZeRO-1: the fused kernel on each parameter's piece of the shard, with its group's
// hyperparameters and its step count (the same update, element by element, as a whole step).
void Adam::update_shard(Tensor& param, const Tensor& grad, std::map<std::string, Tensor>& buffers,
                        const std::vector<ShardPiece>& pieces) {
    const int64_t width = param.element_size();
    auto at = [&](const Tensor& t, int64_t offset) { return static_cast<char*>(t.raw_data()) + offset * width; };
    for (const ShardPiece& piece : pieces) {
        const ParamGroup& group = group_of(piece.index);
        for (const std::string& name : buffer_names(group))
            if (!buffers.count(name)) buffers[name] = zeros_like(param);
        void* vmax = group.flag("amsgrad") ? at(buffers["max_exp_avg_sq"], piece.shard_at) : nullptr;
        kernels::adam_update_table().get(Device::CPU, param.dtype())(
            at(param, piece.shard_at), at(grad, piece.shard_at), at(buffers["exp_avg"], piece.shard_at),
            at(buffers["exp_avg_sq"], piece.shard_at), vmax, piece.length,
            adam_hyper(group, decoupled_, mutable_state(piece.index).step));
    }
    param.bump_version();
    for (auto& [name, b] : buffers) b.bump_version();
}

}  // namespace mg::optim
