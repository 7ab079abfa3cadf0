// Reductions over a set of axes: sum, max, min.
//
// The op layer splits the input's dimensions into kept ones (the output's) and
// reduced ones. Every output element folds its reduced elements in one fixed
// order, so a result never depends on thread count or scheduling.
#pragma once

#include "kernels/elementwise.h"

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

using ReduceFn = void(const ReduceArgs& args, void* out, const void* in);
MG_KERNEL_TABLE(sum, ReduceFn)  // float32 sums accumulate in double
MG_KERNEL_TABLE(max, ReduceFn)
MG_KERNEL_TABLE(min, ReduceFn)

}  // namespace mg::kernels
