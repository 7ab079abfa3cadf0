// The masked convolution's one kernel (kernels/cuda/masked_conv.cu), behind the same plain
// seam as launch.h: no fmt, device pointers, runs on current_stream().
#pragma once

#include <cstdint>

#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// in, out [planes, k*k] (planes = C_out*C_in weight planes of k x k taps):
//   out[p, kh*k + kw] = kh*k + kw < taps ? in[p, kh*k + kw] : 0
// i.e. the first `taps` taps in raster order are kept (kernels/masked_conv.h) and the
// others are zeroed without being read. out may be in: that zeroes the hidden taps in place.
void launch_mask_weight(DType t, int64_t planes, int64_t k, int64_t taps, const void* in, void* out);

}  // namespace mg::kernels::cuda
