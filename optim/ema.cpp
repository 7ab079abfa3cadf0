#include "optim/ema.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::optim {

ExponentialMovingAverage::ExponentialMovingAverage(const std::vector<Tensor>& params, double decay) : decay_(decay) {
    MG_CHECK(decay >= 0.0 && decay <= 1.0, "ema: decay must be in [0, 1], got {}", decay);
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
        MG_CHECK(params[i].defined(), "ema: parameter {} is undefined", i);
        shadow_.push_back(params[i].detach().clone());
    }
}

void ExponentialMovingAverage::check_params(const std::vector<Tensor>& params, const char* op) const {
    MG_CHECK(params.size() == shadow_.size(), "ema: {}: {} tensors given, the average holds {}", op, params.size(),
             shadow_.size());
    for (size_t i = 0; i < params.size(); ++i)
        MG_CHECK(params[i].defined() && params[i].shape() == shadow_[i].shape() &&
                     params[i].dtype() == shadow_[i].dtype(),
                 "ema: {}: tensor {} is {} {}, its average is {} {}", op, i,
                 params[i].defined() ? params[i].shape().str() : "undefined",
                 params[i].defined() ? dtype_name(params[i].dtype()) : "", shadow_[i].shape(), shadow_[i].dtype());
}

void ExponentialMovingAverage::update(const std::vector<Tensor>& params) {
    check_params(params, "update");
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
        Tensor& s = shadow_[i];
        if (is_floating(s.dtype())) s.mul_(decay_).add_(params[i].detach(), 1.0 - decay_);
        else s.copy_(params[i]);
    }
    ++num_updates_;
}

void ExponentialMovingAverage::copy_to(const std::vector<Tensor>& params) const {
    check_params(params, "copy_to");
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
        Tensor p = params[i];
        p.copy_(shadow_[i]);
    }
}

StateDict ExponentialMovingAverage::state_dict() const {
    StateDict out;
    for (size_t i = 0; i < shadow_.size(); ++i) out[fmt::format("shadow.{}", i)] = shadow_[i];
    out["decay"] = scalar_tensor(decay_, {DType::Float64});
    out["num_updates"] = from_vector(std::vector<int64_t>{num_updates_}, Shape{});
    return out;
}

void ExponentialMovingAverage::load_state_dict(const StateDict& dict) {
    MG_CHECK(dict.size() == shadow_.size() + 2, "ema: load_state_dict: {} entries, expected {} ({} shadows, decay, "
             "num_updates)", dict.size(), shadow_.size() + 2, shadow_.size());
    auto find = [&](const std::string& key) -> const Tensor& {
        auto it = dict.find(key);
        MG_CHECK(it != dict.end() && it->second.defined(), "ema: load_state_dict: no '{}'", key);
        return it->second;
    };
    for (size_t i = 0; i < shadow_.size(); ++i) {
        const Tensor& t = find(fmt::format("shadow.{}", i));
        MG_CHECK(t.shape() == shadow_[i].shape() && t.dtype() == shadow_[i].dtype(),
                 "ema: load_state_dict: shadow.{} is {} {}, expected {} {}", i, t.shape(), t.dtype(),
                 shadow_[i].shape(), shadow_[i].dtype());
    }
    const Tensor& decay = find("decay");
    const Tensor& updates = find("num_updates");
    MG_CHECK(decay.numel() == 1 && updates.numel() == 1 && updates.dtype() == DType::Int64,
             "ema: load_state_dict: decay must be one value and num_updates one int64");
    double d = decay.item();
    MG_CHECK(d >= 0.0 && d <= 1.0, "ema: load_state_dict: decay must be in [0, 1], got {}", d);
    int64_t n = updates.to_vector<int64_t>()[0];
    MG_CHECK(n >= 0, "ema: load_state_dict: num_updates is negative ({})", n);

    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < shadow_.size(); ++i) shadow_[i].copy_(find(fmt::format("shadow.{}", i)));
    decay_ = d;
    num_updates_ = n;
}

}  // namespace mg::optim
