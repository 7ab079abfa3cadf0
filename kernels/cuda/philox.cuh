// The per-block math of the random kernels (random.cu), host and device, so that it can
// be checked against kernels/cpu/random.cpp on a machine without a GPU.
// kernels/cpu/random.cpp is the specification:
//
//   block b = philox(seed, counter = offset + b) -> lanes x0..x3, for elements 4b..4b+3
//   float32 uniform:  (x_j >> 8) * 2^-24
//   float64 uniform:  (((x_j << 32) | y_j) >> 11) * 2^-53, y = philox(seed ^ 0x5DEECE66D, same counter)
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
#include <type_traits>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda::philox {

constexpr uint64_t kSecondStreamKey = 0x5DEECE66DULL;  // == kernels/cpu/random.cpp

struct Lanes {
    uint32_t x[4];
};

// Philox-4x32-10, as mg::kernels::Philox::block (the 32x32->64 products compile to
// one mul.wide.u32 on the GPU).
MG_HOST_DEVICE Lanes block(uint64_t seed, uint64_t ctr) {
    constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
    constexpr uint32_t kKey0 = 0x9E3779B9u, kKey1 = 0xBB67AE85u;
    uint32_t c0 = uint32_t(ctr), c1 = uint32_t(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    MG_UNROLL
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = uint64_t(kMul0) * c0, p1 = uint64_t(kMul1) * c2;
        const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
        c1 = uint32_t(p1);
        c3 = uint32_t(p0);
        c0 = n0;
        c2 = n2;
        k0 += kKey0;
        k1 += kKey1;
    }
    return {{c0, c1, c2, c3}};
}

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

// Four [0, 1) uniforms of block ctr, exact in double.
template <class T>
MG_HOST_DEVICE void uniforms(uint64_t seed, uint64_t ctr, double u[4]) {
    const Lanes x = block(seed, ctr);
    if constexpr (std::is_same_v<T, float>) {
        MG_UNROLL
        for (int j = 0; j < 4; ++j) u[j] = double(x.x[j] >> 8) * (1.0 / 16777216.0);
    } else {
        const Lanes y = block(seed ^ kSecondStreamKey, ctr);
        MG_UNROLL
        for (int j = 0; j < 4; ++j)
            u[j] = double(((uint64_t(x.x[j]) << 32) | y.x[j]) >> 11) * (1.0 / 9007199254740992.0);
    }
}

// The four values of block ctr (elements 4*(ctr - offset) .. +3), before rounding to T.
template <RandomDist dist, class T>
MG_HOST_DEVICE void draw_block(uint64_t seed, uint64_t ctr, double a, double b, double v[4]) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    double u[4];
    if constexpr (dist == RandomDist::Bernoulli) {
        uniforms<float>(seed, ctr, u);
        MG_UNROLL
        for (int j = 0; j < 4; ++j) v[j] = u[j] < a ? 1.0 : 0.0;
    } else if constexpr (dist == RandomDist::Uniform) {
        uniforms<T>(seed, ctr, u);
        const double span = add_rn(b, -a);
        MG_UNROLL
        for (int j = 0; j < 4; ++j) v[j] = add_rn(a, mul_rn(span, u[j]));
    } else {
        uniforms<T>(seed, ctr, u);
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
