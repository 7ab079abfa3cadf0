// Sample-quality measures that need no classifier.
#pragma once

#include "core/tensor.h"

namespace mg::models {

// Mode coverage of 2-D samples against a Gaussian mixture (workloads.md, gan2d): a mode
// counts as covered when at least `min_fraction` of the samples lie within 3 std of its
// centre; hq_fraction is the share of samples within 3 std of any centre.
struct ModeCoverage {
    int64_t modes_covered = 0;
    int64_t modes = 0;
    double hq_fraction = 0;
};
ModeCoverage mode_coverage(const Tensor& samples, const Tensor& centres, double std, double min_fraction = 0.01);

}  // namespace mg::models
