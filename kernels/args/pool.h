// The shape of the 2-D pooling kernels (kernels/pool.h), plain for nvcc. NCHW.
#pragma once

#include <cstdint>

namespace mg::kernels {

struct Pool2dShape {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t kh = 0, kw = 0, oh = 0, ow = 0;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

}  // namespace mg::kernels
