// The per-element code of the GEMM kernels (gemm.cu), host and device: see
// device_math.cuh for why.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"

namespace mg::kernels::cuda {

// op(A)(i, p) and op(B)(p, j) of one batch, through the leading dimensions.
template <class T>
struct Operand {
    const T* p;
    int64_t ld;
    bool trans;
    MG_HOST_DEVICE T a_at(int64_t i, int64_t k) const { return trans ? p[k * ld + i] : p[i * ld + k]; }
    MG_HOST_DEVICE T b_at(int64_t k, int64_t j) const { return trans ? p[j * ld + k] : p[k * ld + j]; }
};

template <class T>
MG_HOST_DEVICE void store_c(T* c, T acc, T alpha, T beta) {
    *c = beta == T(0) ? alpha * acc : alpha * acc + beta * *c;
}

// C[batch](i, j) of the naive kernel: K products in order, accumulated in T.
template <class T>
MG_HOST_DEVICE void gemm_element(const GemmArgs& g, int64_t batch, const T* a, const T* b, T* c, int64_t i, int64_t j) {
    const Operand<T> A{a + batch * g.stride_a, g.lda, g.trans_a}, B{b + batch * g.stride_b, g.ldb, g.trans_b};
    T acc = T(0);
    for (int64_t p = 0; p < g.k; ++p) acc += A.a_at(i, p) * B.b_at(p, j);
    store_c(c + batch * g.stride_c + i * g.ldc + j, acc, T(g.alpha), T(g.beta));
}

}  // namespace mg::kernels::cuda
