// Reductions over a set of axes: sum, max, min.
//
// The op layer splits the input's dimensions into kept ones (the output's) and
// reduced ones. Every output element folds its reduced elements in one fixed
// order, so a result never depends on thread count or scheduling.
#pragma once

#include "kernels/args/reduce.h"
#include "kernels/elementwise.h"

namespace mg::kernels {

using ReduceFn = void(const ReduceArgs& args, void* out, const void* in);
template <> struct KernelCost<ReduceFn> {
    static Cost of(DType t, const ReduceArgs& r, void*, const void*) { return reduce_cost(r, t); }
};
MG_KERNEL_TABLE(sum, ReduceFn)  // float32 sums accumulate in double
MG_KERNEL_TABLE(max, ReduceFn)
MG_KERNEL_TABLE(min, ReduceFn)

}  // namespace mg::kernels
