// The arguments of the reductions (kernels/reduce.h), plain for nvcc.
//
// The op layer splits the input's dimensions into kept ones (the output's) and
// reduced ones.
#pragma once

#include <cstdint>

#include "kernels/args/elementwise.h"

namespace mg::kernels {

struct ReduceArgs {
    int out_ndim = 0;
    int64_t out_numel = 1;
    int64_t out_sizes[kMaxDims] = {};
    int64_t out_strides[kMaxDims] = {};  // of the output, in elements
    int64_t in_strides[kMaxDims] = {};   // of the input along the kept dims
    int red_ndim = 0;
    int64_t red_numel = 1;
    int64_t red_sizes[kMaxDims] = {};
    int64_t red_strides[kMaxDims] = {};  // of the input along the reduced dims
};

}  // namespace mg::kernels
