// A layer's bias and the leaky_relu after it, fused (slope 0 is relu):
//   forward   out[i, c, s] = v > 0 ? v : slope * v,   v = y[i, c, s] + bias[c]
//   backward  gy[i, c, s]  = out > 0 ? g : slope * g,  gbias[c] = sum over i, s of gy[i, c, s]
// y, out, g, gy are dense [outer, channels, inner] (a conv's [N, C, H*W]; a Linear's [B, F] is
// inner = 1). slope >= 0, so out > 0 exactly where v > 0 and the backward needs only out.
// One pass forward instead of an add and an activation; one pass backward instead of the
// activation's backward and a channel sum. gbias sums in double, in a fixed order per channel
// (i, then s), whatever the thread count.
#pragma once

#include "kernels/args/bias_act.h"
#include "kernels/cost.h"
#include "kernels/registry.h"

namespace mg::kernels {

using BiasActForwardFn = void(const BiasActShape& s, const void* y, const void* bias, void* out);
using BiasActBackwardFn = void(const BiasActShape& s, const void* out, const void* g, void* gy, void* gbias);

template <> struct KernelCost<BiasActForwardFn> {
    static Cost of(DType t, const BiasActShape& s, const void*, const void*, void*) { return bias_act_forward_cost(s, t); }
};
template <> struct KernelCost<BiasActBackwardFn> {
    static Cost of(DType t, const BiasActShape& s, const void*, const void*, void*, void*) {
        return bias_act_backward_cost(s, t);
    }
};
MG_KERNEL_TABLE(bias_act_forward, BiasActForwardFn)
MG_KERNEL_TABLE(bias_act_backward, BiasActBackwardFn)

// "reference" and "omp" (kernels/cpu/bias_act.cpp), added by register_all.cpp.
void register_cpu_bias_act();

}  // namespace mg::kernels
