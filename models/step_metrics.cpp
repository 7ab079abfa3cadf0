#include "models/step_metrics.h"

#include <algorithm>

#include "kernels/base.h"

namespace mg::models {

void StepMetrics::operator()(std::string key, double value) {
    MG_CHECK(std::none_of(recorded_.begin(), recorded_.end(), [&](const auto& kv) { return kv.first == key; }),
             "step metrics: '{}' recorded twice in one step", key);
    recorded_.emplace_back(std::move(key), value);
}

void StepMetrics::append(const Metrics& metrics) {
    for (const auto& [key, value] : metrics) (*this)(key, value);
}

Metrics StepMetrics::take() {
    auto is_leading = [&](const std::string& key) {
        return std::find(leading_.begin(), leading_.end(), key) != leading_.end();
    };
    Metrics out;
    out.reserve(recorded_.size());
    for (const std::string& key : leading_)
        for (const auto& kv : recorded_)
            if (kv.first == key) out.push_back(kv);
    for (const auto& kv : recorded_)
        if (!is_leading(kv.first)) out.push_back(kv);
    recorded_.clear();
    return out;
}

}  // namespace mg::models
