// Argument checks shared by the CUDA kernels (g++ side). They run on the host before
// a launch and throw mg::Error naming the op and the values, so that an inconsistent
// shape never reaches a kernel as an out-of-bounds access.
#pragma once

#include <string_view>

#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"

namespace mg::kernels::cuda {

void check_gemm_args(const GemmArgs& g, std::string_view variant, const void* a, const void* b, const void* c);
void check_conv2d_shape(std::string_view op, const Conv2dShape& s);
void check_pool2d_shape(std::string_view op, const Pool2dShape& s);

}  // namespace mg::kernels::cuda
