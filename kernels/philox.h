// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11), host and device.
// The CPU random kernels (kernels/cpu/random.cpp) and the CUDA ones (kernels/cuda/philox.cuh)
// both draw from here, so the two streams are one.
//
//   block b = philox(seed, counter = offset + b) -> lanes x0..x3, for elements 4b..4b+3
//   float32 uniform:  (x_j >> 8) * 2^-24                                   [0, 1), 24 bits
//   float64 uniform:  (((x_j << 32) | y_j) >> 11) * 2^-53, y = philox(seed ^ kSecondStreamKey, same counter)
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "kernels/host_device.h"

namespace mg::kernels {

struct Philox {
    static constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
    static constexpr uint32_t kKey0 = 0x9E3779B9u, kKey1 = 0xBB67AE85u;
    static constexpr uint64_t kSecondStreamKey = 0x5DEECE66DULL;  // float64's second 32 bits per lane

    using Lanes = std::array<uint32_t, 4>;  // constexpr indexing: nvcc's --expt-relaxed-constexpr takes it

    // One 128-bit block for counter `ctr` under key `seed` (on the GPU the 32x32->64
    // products compile to one mul.wide.u32).
    static MG_HOST_DEVICE Lanes block(uint64_t seed, uint64_t ctr) {
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
        return {c0, c1, c2, c3};
    }

    // Four [0, 1) uniforms of block ctr for dtype T (float: 24 bits, double: 53), exact in double.
    template <class T>
    static MG_HOST_DEVICE void uniforms(uint64_t seed, uint64_t ctr, double u[4]) {
        const Lanes x = block(seed, ctr);
        if constexpr (std::is_same_v<T, float>) {
            MG_UNROLL
            for (int j = 0; j < 4; ++j) u[j] = double(x[j] >> 8) * (1.0 / 16777216.0);
        } else {
            const Lanes y = block(seed ^ kSecondStreamKey, ctr);
            MG_UNROLL
            for (int j = 0; j < 4; ++j)
                u[j] = double(((uint64_t(x[j]) << 32) | y[j]) >> 11) * (1.0 / 9007199254740992.0);
        }
    }
};

}  // namespace mg::kernels
