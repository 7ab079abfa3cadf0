// The "avx2" / "avx512" dense loops of the elementwise ops whose list entry has a vector form
// (the simd column of kernels/elementwise_ops.h): n elements, no strides, the op's functor on
// simd::Vec lanes. elementwise.cpp registers them behind its strided "omp" walk;
// elementwise_simd.h defines them, and isa_avx2.cpp / isa_avx512.cpp
// instantiate them from the lists with the flags of their instruction set.
#pragma once

#include "kernels/elementwise.h"

namespace mg::kernels {

enum class Isa : uint8_t { avx2, avx512 };

template <Isa isa> struct DenseLoops {
    // y = Op(x; s)
    template <class Op, class T> static void unary(int64_t n, void* y, const void* x, Scalars s);
    // y = Op(a, b; s)
    template <class Op, class T>
    static void binary_scalar(int64_t n, void* y, const void* a, const void* b, Scalars s);
};

// Each instruction set's file defines its own (a declaration here, so that every user sees it).
template <> template <class Op, class T> void DenseLoops<Isa::avx2>::unary(int64_t, void*, const void*, Scalars);
template <> template <class Op, class T> void DenseLoops<Isa::avx512>::unary(int64_t, void*, const void*, Scalars);
template <> template <class Op, class T>
void DenseLoops<Isa::avx2>::binary_scalar(int64_t, void*, const void*, const void*, Scalars);
template <> template <class Op, class T>
void DenseLoops<Isa::avx512>::binary_scalar(int64_t, void*, const void*, const void*, Scalars);

}  // namespace mg::kernels
