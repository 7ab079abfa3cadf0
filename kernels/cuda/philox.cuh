// The per-block math of the random kernels (random.cu), host and device, so that it can
// be checked against kernels/cpu/random.cpp on a machine without a GPU.
// kernels/cpu/random.cpp is the specification; the Philox block and the [0, 1) uniforms
// are kernels/philox.h, the CPU's own code. On top of them:
//
//   uniform [a, b):   a + (b - a) * u, in double, then rounded to the dtype
//   normal:           Box-Muller on lane pairs (0,1), (2,3), in double:
//                     r = sqrt(-2 ln(1 - u0)); z0 = a + b*r*cos(2 pi u1), z1 = a + b*r*sin(2 pi u1)
//   bernoulli(p):     float32 uniform < p, for either dtype
//
// The affine steps use the _rn intrinsics on the device so nvcc cannot fuse them into an
// FMA (the CPU build has none): uniforms and Bernoulli draws then equal the CPU's bit for
// bit; normals differ only by the last-bit differences of log/sin/cos.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/philox.h"

namespace mg::kernels::cuda::philox {

// Rounded double arithmetic that the compiler may not contract.
MG_HOST_DEVICE double add_rn(double x, double y) {
#ifdef __CUDA_ARCH__
    return __dadd_rn(x, y);
#else
    return x + y;
#endif
}
MG_HOST_DEVICE double mul_rn(double x, double y) {
#ifdef __CUDA_ARCH__
    return __dmul_rn(x, y);
#else
    return x * y;
#endif
}

// The four values of block ctr (elements 4*(ctr - offset) .. +3), before rounding to T.
template <RandomDist dist, class T>
MG_HOST_DEVICE void draw_block(uint64_t seed, uint64_t ctr, double a, double b, double v[4]) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    double u[4];
    if constexpr (dist == RandomDist::Bernoulli) {
        Philox::uniforms<float>(seed, ctr, u);
        MG_UNROLL
        for (int j = 0; j < 4; ++j) v[j] = u[j] < a ? 1.0 : 0.0;
    } else if constexpr (dist == RandomDist::Uniform) {
        Philox::uniforms<T>(seed, ctr, u);
        const double span = add_rn(b, -a);
        MG_UNROLL
        for (int j = 0; j < 4; ++j) v[j] = add_rn(a, mul_rn(span, u[j]));
    } else {
        Philox::uniforms<T>(seed, ctr, u);
        MG_UNROLL
        for (int p = 0; p < 2; ++p) {
            const double r = sqrt(mul_rn(-2.0, log(add_rn(1.0, -u[2 * p]))));  // 1-u in (0, 1]: never log(0)
            const double theta = mul_rn(kTwoPi, u[2 * p + 1]);
            const double scaled = mul_rn(b, r);
            v[2 * p] = add_rn(a, mul_rn(scaled, cos(theta)));
            v[2 * p + 1] = add_rn(a, mul_rn(scaled, sin(theta)));
        }
    }
}

}  // namespace mg::kernels::cuda::philox
