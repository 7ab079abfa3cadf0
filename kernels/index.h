// Index kernels, each pair the adjoint of the other (so autograd can go both ways):
//   take_along(x [R, C], idx [R, K]) -> y [R, K]      y[r,k] = x[r, idx[r,k]]
//   put_along (g [R, K], idx [R, K]) -> x [R, C]      x = 0; x[r, idx[r,k]] += g[r,k]
//   index_select(x [V, D], idx [K])  -> y [K, D]      y[k,:] = x[idx[k], :]
//   index_add   (g [K, D], idx [K])  -> x [V, D]      x = 0; x[idx[k], :] += g[k,:]
// Operands contiguous; indices are int64 and already checked to lie in range.
#pragma once

#include "kernels/registry.h"

namespace mg::kernels {

using TakeAlongFn = void(int64_t rows, int64_t cols, int64_t k, const void* x, const int64_t* idx, void* y);
using PutAlongFn = void(int64_t rows, int64_t cols, int64_t k, const void* g, const int64_t* idx, void* x);
using IndexSelectFn = void(int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx, void* y);
using IndexAddFn = void(int64_t v, int64_t d, int64_t k, const void* g, const int64_t* idx, void* x);

MG_KERNEL_TABLE(take_along, TakeAlongFn)
MG_KERNEL_TABLE(put_along, PutAlongFn)
MG_KERNEL_TABLE(index_select, IndexSelectFn)
MG_KERNEL_TABLE(index_add, IndexAddFn)

}  // namespace mg::kernels
