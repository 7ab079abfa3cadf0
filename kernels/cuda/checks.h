// Argument checks shared by the CUDA kernels (g++ side). They run on the host before
// a launch and throw mg::Error naming the op and the values, so that an inconsistent
// shape never reaches a kernel as an out-of-bounds access.
#pragma once

#include <cstddef>
#include <string_view>

#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"

namespace mg::kernels::cuda {

void check_gemm_args(const GemmArgs& g, std::string_view variant, const void* a, const void* b, const void* c);
void check_pool2d_shape(std::string_view op, const Pool2dShape& s);

// The three kernels of conv2d (kernels/conv.h): y = conv(x, w), gx = conv^T(gy, w), gw = corr(x, gy).
enum class ConvDirection : uint8_t { Forward, BackwardInput, BackwardWeight };

// The start of every CUDA conv2d kernel: check_conv2d_shape, then whether the call is
// already done: its output (of `element_bytes` elements) is empty, or sums nothing (no
// input channel, image or pixel to sum) and is zeroed here.
bool conv2d_done_early(const char* what, const Conv2dShape& s, ConvDirection dir, void* out, size_t element_bytes);

}  // namespace mg::kernels::cuda
