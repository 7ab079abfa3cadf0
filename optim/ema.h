// Exponential moving average of parameters (for sampling from a smoothed generator):
//   shadow = decay * shadow + (1 - decay) * param     after every update(params)
// The shadows start as copies of the parameters. Integer tensors (counters, e.g.
// batch-norm's num_batches_tracked) are copied rather than averaged.
#pragma once

#include <vector>

#include "optim/optimizer.h"

namespace mg::optim {

class ExponentialMovingAverage {
public:
    ExponentialMovingAverage(const std::vector<Tensor>& params, double decay);

    // Moves the shadows toward `params` (the same tensors, in the same order, as at construction).
    void update(const std::vector<Tensor>& params);
    // Writes the shadows into `params` (e.g. to sample or evaluate with the averaged weights).
    void copy_to(const std::vector<Tensor>& params) const;

    const std::vector<Tensor>& shadow() const { return shadow_; }
    double decay() const { return decay_; }
    int64_t num_updates() const { return num_updates_; }

    // "shadow.<i>" like parameter i, "decay" float64 0-d, "num_updates" int64 0-d.
    StateDict state_dict() const;
    // Checks every entry (count, shapes, dtypes) before copying anything.
    void load_state_dict(const StateDict& dict);

private:
    void check_params(const std::vector<Tensor>& params, const char* op) const;

    std::vector<Tensor> shadow_;
    double decay_;
    int64_t num_updates_ = 0;
};

}  // namespace mg::optim
