// Calibration: the range of each quantizable layer's input over N batches of the model's
// own sampling (a generator or decoder fed latents from its prior), observed through the
// layers' nn::ForwardHook.
//
//   minmax:      [lo, hi] = the smallest and largest input value over all batches.
//   percentile:  per batch, a = the P-th percentile of |x| (nearest rank: the
//                ceil(P/100 * n)-th smallest), the batch's range [max(min, -a), min(max, a)];
//                lo and hi are the means of those over the batches (outliers of one batch
//                clipped, memory bounded by one batch).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/model.h"

namespace mg::models::quantize {

enum class CalibMethod { MinMax, Percentile };

struct CalibOptions {
    int64_t batches = 8;
    int64_t batch_size = 64;
    CalibMethod method = CalibMethod::MinMax;
    double percentile = 99.99;  // in (0, 100]
};

struct Range {
    float lo = 0, hi = 0;
};

// The running range of one layer's input, batch by batch.
class RangeRecorder {
public:
    explicit RangeRecorder(const CalibOptions& options) : options_(options) {}
    void add(const float* x, int64_t n);  // one batch; throws on NaN/Inf
    int64_t batches() const { return batches_; }
    Range range() const;  // after at least one batch

private:
    CalibOptions options_;
    int64_t batches_ = 0;
    double lo_sum_ = 0, hi_sum_ = 0;  // percentile
    float lo_ = 0, hi_ = 0;           // minmax
};

// Runs options.batches samples of options.batch_size through the model (its Sampler) with a
// recorder on every quantizable layer of `networks`; returns the range of each layer that
// saw input (by name, "G.fc"). The layers that saw none (a discriminator) are left out.
std::map<std::string, Range> calibrate(Model& model, const std::vector<std::pair<std::string, nn::Module*>>& networks,
                                       const CalibOptions& options);

}  // namespace mg::models::quantize
