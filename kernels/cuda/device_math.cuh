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
MG_HOST_DEVICE float dev_exp(float x) { return expf(x); }
MG_HOST_DEVICE double dev_exp(double x) { return ::exp(x); }
MG_HOST_DEVICE float dev_expm1(float x) { return expm1f(x); }
MG_HOST_DEVICE double dev_expm1(double x) { return ::expm1(x); }
MG_HOST_DEVICE float dev_log(float x) { return logf(x); }
MG_HOST_DEVICE double dev_log(double x) { return ::log(x); }
MG_HOST_DEVICE float dev_log1p(float x) { return log1pf(x); }
MG_HOST_DEVICE double dev_log1p(double x) { return ::log1p(x); }
MG_HOST_DEVICE float dev_sqrt(float x) { return sqrtf(x); }
MG_HOST_DEVICE double dev_sqrt(double x) { return ::sqrt(x); }
MG_HOST_DEVICE float dev_abs(float x) { return fabsf(x); }
MG_HOST_DEVICE double dev_abs(double x) { return ::fabs(x); }
MG_HOST_DEVICE float dev_tanh(float x) { return tanhf(x); }
MG_HOST_DEVICE double dev_tanh(double x) { return ::tanh(x); }
MG_HOST_DEVICE float dev_sin(float x) { return sinf(x); }
MG_HOST_DEVICE double dev_sin(double x) { return ::sin(x); }
MG_HOST_DEVICE float dev_cos(float x) { return cosf(x); }
MG_HOST_DEVICE double dev_cos(double x) { return ::cos(x); }
MG_HOST_DEVICE float dev_erf(float x) { return erff(x); }
MG_HOST_DEVICE double dev_erf(double x) { return ::erf(x); }
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
