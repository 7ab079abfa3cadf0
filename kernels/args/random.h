// The arguments of the random kernels (kernels/random.h), plain for nvcc.
#pragma once

#include <cstdint>

namespace mg::kernels {

struct RandomArgs {
    int64_t n = 0;
    uint64_t seed = 0, offset = 0;
    double a = 0.0, b = 1.0;  // uniform: [a, b); normal: mean a, std b; bernoulli: p = a
};

}  // namespace mg::kernels
