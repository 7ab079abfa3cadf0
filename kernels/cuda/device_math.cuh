// Typed math for the per-element code of the kernels, on the host and the device.
//
// The per-element bodies (the *_ops.cuh headers) are host-and-device functions: the
// kernels run them on the GPU, and a host program compiled by any C++ compiler can
// run the very same code against the CPU reference on a machine without a GPU.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/host_device.h"

namespace mg::kernels::cuda {

// ---- typed math: float calls the f-suffixed function, double the plain one ----------
// (the global one: kernels/elementwise_ops.h brings this header next to mg::exp(Tensor)...)
#define MG_DEV_MATH(name, float_fn, double_fn)                              \
    MG_HOST_DEVICE float dev_##name(float x) { return float_fn(x); }          \
    MG_HOST_DEVICE double dev_##name(double x) { return ::double_fn(x); }
MG_DEV_MATH(exp, expf, exp)
MG_DEV_MATH(expm1, expm1f, expm1)
MG_DEV_MATH(log, logf, log)
MG_DEV_MATH(log1p, log1pf, log1p)
MG_DEV_MATH(sqrt, sqrtf, sqrt)
MG_DEV_MATH(abs, fabsf, fabs)
MG_DEV_MATH(tanh, tanhf, tanh)
MG_DEV_MATH(sin, sinf, sin)
MG_DEV_MATH(cos, cosf, cos)
MG_DEV_MATH(erf, erff, erf)
#undef MG_DEV_MATH
MG_HOST_DEVICE float dev_pow(float x, float y) { return powf(x, y); }
MG_HOST_DEVICE double dev_pow(double x, double y) { return ::pow(x, y); }

template <class T>
MG_HOST_DEVICE bool dev_isnan(T x) {
    if constexpr (std::is_floating_point_v<T>) {
#ifdef __CUDA_ARCH__
        return isnan(x);
#else
        return std::isnan(x);
#endif
    } else {
        return false;
    }
}

}  // namespace mg::kernels::cuda
