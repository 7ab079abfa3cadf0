// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11).
//
// Element i of a draw with (seed, offset) comes from block counter offset + i/4,
// lane i%4, so any device, thread count or split of the work draws the same
// numbers. A draw of n elements advances the generator's offset by ceil(n/4).
//   uniform: u = (bits >> 8) * 2^-24 in [0, 1) for float32, 53 bits for float64
//   normal:  Box-Muller on lanes (0,1) and (2,3) of a block.
#pragma once

#include <array>
#include <cmath>

#include "kernels/registry.h"

namespace mg::kernels {

struct Philox {
    static constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
    static constexpr uint32_t kKey0 = 0x9E3779B9u, kKey1 = 0xBB67AE85u;

    // One 128-bit block for counter `ctr` under key `seed`.
    static std::array<uint32_t, 4> block(uint64_t seed, uint64_t ctr) {
        uint32_t c0 = uint32_t(ctr), c1 = uint32_t(ctr >> 32), c2 = 0, c3 = 0;
        uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
        for (int round = 0; round < 10; ++round) {
            uint64_t p0 = uint64_t(kMul0) * c0, p1 = uint64_t(kMul1) * c2;
            uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
            c1 = uint32_t(p1);
            c3 = uint32_t(p0);
            c0 = n0;
            c2 = n2;
            k0 += kKey0;
            k1 += kKey1;
        }
        return {c0, c1, c2, c3};
    }
};

struct RandomArgs {
    int64_t n = 0;
    uint64_t seed = 0, offset = 0;
    double a = 0.0, b = 1.0;  // uniform: [a, b); normal: mean a, std b; bernoulli: p = a
};

// out is contiguous, of the table's dtype.
using RandomFn = void(const RandomArgs& args, void* out);
MG_KERNEL_TABLE(random_uniform, RandomFn)
MG_KERNEL_TABLE(random_normal, RandomFn)
MG_KERNEL_TABLE(random_bernoulli, RandomFn)  // 1 with probability a, else 0

}  // namespace mg::kernels
