// The arguments of the elementwise kernels (kernels/elementwise.h), plain for nvcc.
//
// The op layer (core/) broadcasts, coalesces dimensions and hands kernels an Iter:
// a strided N-d walk over up to four operands, operand 0 being the output.
// When every operand is dense in the same order, `contiguous` is set and a kernel
// may run one flat loop of `numel` elements.
#pragma once

#include <cstdint>

namespace mg::kernels {

constexpr int kMaxDims = 8;

struct Iter {
    int ndim = 0;
    int64_t numel = 0;
    bool contiguous = false;
    int64_t sizes[kMaxDims] = {};
    int64_t strides[4][kMaxDims] = {};  // in elements; [0] = output, then inputs in order
};

// The Iter of one dense walk over n elements (every operand contiguous): what tests and
// benches hand a kernel directly.
inline Iter dense_iter(int64_t n) {
    Iter it;
    it.ndim = 1;
    it.numel = n;
    it.contiguous = true;
    it.sizes[0] = n;
    for (auto& s : it.strides) s[0] = 1;
    return it;
}

// Scalar parameters of unary ops (slope, alpha, exponent, bounds...).
struct Scalars {
    double a = 0.0, b = 0.0;
};

}  // namespace mg::kernels
