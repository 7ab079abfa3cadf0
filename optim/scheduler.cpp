#include "optim/scheduler.h"

#include <cmath>
#include <numbers>

namespace mg::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (const ParamGroup& g : optimizer.param_groups()) base_lrs_.push_back(g.lr);
}

void LRScheduler::set_epoch(int64_t epoch) {
    MG_CHECK(epoch >= 0, "lr scheduler: epoch must be >= 0, got {}", epoch);
    auto& groups = optimizer_.param_groups();
    MG_CHECK(groups.size() == base_lrs_.size(),
             "lr scheduler: the optimizer has {} parameter groups, the scheduler was made for {}", groups.size(),
             base_lrs_.size());
    epoch_ = epoch;
    for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = lr_at(epoch, base_lrs_[g]);
}

std::vector<double> LRScheduler::last_lr() const {
    std::vector<double> out;
    for (const ParamGroup& g : optimizer_.param_groups()) out.push_back(g.lr);
    return out;
}

StateDict LRScheduler::state_dict() const {
    StateDict out;
    out["last_epoch"] = from_vector(std::vector<int64_t>{epoch_}, Shape{});
    for (size_t g = 0; g < base_lrs_.size(); ++g)
        out[fmt::format("base_lr.{}", g)] = scalar_tensor(base_lrs_[g], {DType::Float64});
    return out;
}

void LRScheduler::load_state_dict(const StateDict& dict) {
    std::vector<double> bases(base_lrs_.size());
    for (size_t g = 0; g < bases.size(); ++g) {
        auto it = dict.find(fmt::format("base_lr.{}", g));
        MG_CHECK(it != dict.end() && it->second.numel() == 1, "lr scheduler: load_state_dict: no scalar 'base_lr.{}'",
                 g);
        bases[g] = it->second.item();
        MG_CHECK(bases[g] >= 0.0, "lr scheduler: load_state_dict: base_lr.{} is negative ({})", g, bases[g]);
    }
    auto it = dict.find("last_epoch");
    MG_CHECK(it != dict.end() && it->second.numel() == 1 && it->second.dtype() == DType::Int64,
             "lr scheduler: load_state_dict: no int64 scalar 'last_epoch'");
    int64_t epoch = it->second.to_vector<int64_t>()[0];
    MG_CHECK(epoch >= 0, "lr scheduler: load_state_dict: last_epoch is negative ({})", epoch);
    MG_CHECK(dict.size() == bases.size() + 1, "lr scheduler: load_state_dict: {} entries, expected {} (groups: {})",
             dict.size(), bases.size() + 1, bases.size());
    base_lrs_ = bases;
    set_epoch(epoch);
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    MG_CHECK(step_size > 0, "StepLR: step_size must be > 0, got {}", step_size);
    start();
}
double StepLR::lr_at(int64_t epoch, double base_lr) const {
    return base_lr * std::pow(gamma_, double(epoch / step_size_));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) { start(); }
double ExponentialLR::lr_at(int64_t epoch, double base_lr) const { return base_lr * std::pow(gamma_, double(epoch)); }

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
    MG_CHECK(t_max > 0, "CosineAnnealingLR: t_max must be > 0, got {}", t_max);
    start();
}
double CosineAnnealingLR::lr_at(int64_t epoch, double base_lr) const {
    return eta_min_ + (base_lr - eta_min_) * (1.0 + std::cos(std::numbers::pi * double(epoch) / double(t_max_))) / 2.0;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor,
                           std::unique_ptr<LRScheduler> after)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps), start_factor_(start_factor), after_(std::move(after)) {
    MG_CHECK(warmup_steps > 0, "LinearWarmup: warmup_steps must be > 0, got {}", warmup_steps);
    MG_CHECK(start_factor >= 0.0 && start_factor <= 1.0, "LinearWarmup: start_factor must be in [0, 1], got {}",
             start_factor);
    if (after_) {
        MG_CHECK(after_->base_lrs().size() == base_lrs_.size(),
                 "LinearWarmup: the wrapped scheduler has {} groups, the optimizer {}", after_->base_lrs().size(),
                 base_lrs_.size());
        base_lrs_ = after_->base_lrs();  // `after` already moved the lrs to its epoch 0
    }
    start();
}
double LinearWarmup::lr_at(int64_t epoch, double base_lr) const {
    if (epoch < warmup_steps_)
        return base_lr * (start_factor_ + (1.0 - start_factor_) * double(epoch) / double(warmup_steps_));
    return after_ ? after_->lr_at(epoch - warmup_steps_, base_lr) : base_lr;
}

}  // namespace mg::optim
