// Learning-rate schedulers: closed forms of an epoch count, as torch.optim.lr_scheduler.
//
// A scheduler remembers each group's lr when it was made (its base lr) and, on every
// step(), sets each group's lr to lr_at(epoch, base). Construction applies epoch 0, as
// PyTorch's constructors do. "Epoch" is PyTorch's last_epoch: the number of step()
// calls, whether one is made per epoch or per iteration.
//
//   StepLR             base * gamma^floor(epoch / step_size)
//   ExponentialLR      base * gamma^epoch
//   CosineAnnealingLR  eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2
//   LinearWarmup       base * (start_factor + (1 - start_factor) * epoch / warmup)  for epoch < warmup,
//                      then base (standalone) or the wrapped schedule at epoch - warmup,
//                      i.e. SequentialLR([LinearLR(start_factor, 1, warmup), after], [warmup])
#pragma once

#include <memory>
#include <vector>

#include "optim/optimizer.h"

namespace mg::optim {

class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    void step() { set_epoch(epoch_ + 1); }
    // Jumps to `epoch` and sets every group's lr (resuming, or evaluating a schedule).
    void set_epoch(int64_t epoch);
    int64_t epoch() const { return epoch_; }
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    // The lrs the last step() (or the constructor) set, one per group.
    std::vector<double> last_lr() const;

    // The schedule itself: the lr at `epoch` of a group whose base lr is `base_lr`.
    virtual double lr_at(int64_t epoch, double base_lr) const = 0;

    // "last_epoch" int64 0-d, "base_lr.<g>" float64 0-d. load_state_dict checks the
    // group count and then applies the loaded epoch.
    StateDict state_dict() const;
    void load_state_dict(const StateDict& dict);

protected:
    // Takes each group's current lr as its base lr. Derived constructors end with start().
    explicit LRScheduler(Optimizer& optimizer);
    void start() { set_epoch(0); }

    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    int64_t epoch_ = 0;
};

class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
    double lr_at(int64_t epoch, double base_lr) const override;

private:
    int64_t step_size_;
    double gamma_;
};

class ExponentialLR : public LRScheduler {
public:
    ExponentialLR(Optimizer& optimizer, double gamma);
    double lr_at(int64_t epoch, double base_lr) const override;

private:
    double gamma_;
};

class CosineAnnealingLR : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);
    double lr_at(int64_t epoch, double base_lr) const override;

private:
    int64_t t_max_;
    double eta_min_;
};

class LinearWarmup : public LRScheduler {
public:
    // `after` (optional) must schedule the same optimizer; its base lrs are used.
    LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 0.0,
                 std::unique_ptr<LRScheduler> after = nullptr);
    double lr_at(int64_t epoch, double base_lr) const override;

private:
    int64_t warmup_steps_;
    double start_factor_;
    std::unique_ptr<LRScheduler> after_;
};

}  // namespace mg::optim
