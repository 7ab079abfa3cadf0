// The scalars a training step reports, and the recorder a step writes them into.
//
// A step says rec("loss_d", x) where it computes x. The recorder puts the keys it was given
// up front in that order ("loss_d", "loss_g", "d_real": what the report and the progress
// line show first), and every other key after them in the order it was recorded.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace mg::models {

// The scalars of one step, in a stable order ("loss_d", "d_real", "grad_norm/G/fc.weight").
using Metrics = std::vector<std::pair<std::string, double>>;

class StepMetrics {
public:
    explicit StepMetrics(std::initializer_list<const char*> leading = {}) : leading_(leading.begin(), leading.end()) {}

    // Records one scalar; a key is recorded once per step.
    void operator()(std::string key, double value);
    // Records each of `metrics` in its order (a previous update's scalars reported again).
    void append(const Metrics& metrics);
    // The leading keys that were recorded, in the given order, then the rest as recorded.
    Metrics take();

private:
    std::vector<std::string> leading_;
    Metrics recorded_;
};

}  // namespace mg::models
