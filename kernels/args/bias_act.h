// The shape of the fused bias + leaky_relu (kernels/bias_act.h), plain for nvcc:
// dense [outer, channels, inner], slope >= 0.
#pragma once

#include <cstdint>

namespace mg::kernels {

struct BiasActShape {
    int64_t outer = 0, channels = 0, inner = 1;
    double slope = 0.0;
};

}  // namespace mg::kernels
