// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11; kernels/philox.h).
//
// Element i of a draw with (seed, offset) comes from block counter offset + i/4,
// lane i%4, so any device, thread count or split of the work draws the same
// numbers. A draw of n elements advances the generator's offset by ceil(n/4).
//   uniform: u = (bits >> 8) * 2^-24 in [0, 1) for float32, 53 bits for float64
//   normal:  Box-Muller on lanes (0,1) and (2,3) of a block.
#pragma once

#include "kernels/args/random.h"
#include "kernels/philox.h"
#include "kernels/registry.h"

namespace mg::kernels {

// out is contiguous, of the table's dtype.
using RandomFn = void(const RandomArgs& args, void* out);
MG_KERNEL_TABLE(random_uniform, RandomFn)
MG_KERNEL_TABLE(random_normal, RandomFn)
MG_KERNEL_TABLE(random_bernoulli, RandomFn)  // 1 with probability a, else 0

}  // namespace mg::kernels
