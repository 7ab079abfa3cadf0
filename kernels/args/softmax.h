// The shape of the softmax / cross-entropy kernels (kernels/softmax.h), plain for nvcc:
// a dense [outer, classes, inner] tensor whose rows r = o * inner + i are x[o, :, i].
#pragma once

#include <cstdint>

namespace mg::kernels {

struct SoftmaxShape {
    int64_t outer = 1, classes = 1, inner = 1;
    int64_t rows() const { return outer * inner; }
};

}  // namespace mg::kernels
