// Helpers shared by the op files: argument checks and building kernel arguments.
// Internal to core/ops; not installed as API.
#pragma once

#include <initializer_list>

#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/elementwise.h"

namespace mg::ops_detail {

using autograd::Grads;
using autograd::Keep;
using autograd::Saved;

inline void check_defined(const char* op, const Tensor& t, const char* what = "input") {
    MG_CHECK(t.defined(), "{}: {} is undefined", op, what);
}
inline void check_floating(const char* op, const Tensor& t) {
    check_defined(op, t);
    MG_CHECK(is_floating(t.dtype()), "{}: expected a float32 or float64 tensor, got {} {}", op, t.dtype(), t.shape());
}
inline void check_same_kind(const char* op, const Tensor& a, const Tensor& b) {
    check_defined(op, a);
    check_defined(op, b);
    MG_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch, {} {} vs {} {}", op, a.dtype(), a.shape(), b.dtype(),
             b.shape());
    MG_CHECK(a.device() == b.device(), "{}: device mismatch, {} on {} vs {} on {}", op, a.shape(), a.device(),
             b.shape(), b.device());
}

// Builds the strided walk for out = f(inputs...), broadcasting each input to out's
// shape (stride 0 along broadcast dims) and merging dims that are contiguous in
// every operand, so that most calls reach the kernel as one flat loop.
kernels::Iter make_iter(const Tensor& out, std::initializer_list<const Tensor*> inputs);

// Elementwise ops without autograd (the kernels, dispatched).
Tensor unary_kernel(kernels::OpTable<kernels::UnaryFn>& table, const char* op, const Tensor& x,
                    kernels::Scalars s = {});
Tensor binary_kernel(kernels::OpTable<kernels::BinaryFn>& table, const char* op, const Tensor& a, const Tensor& b,
                     DType out_dtype);

// Normalises reduction axes: empty = all; negative wrapped; duplicates refused.
std::vector<int> reduce_axes(const char* op, const Tensor& x, const std::vector<int64_t>& dims);
// The shape of a reduction's result.
Shape reduced_shape(const Shape& in, const std::vector<int>& axes, bool keepdim);

// out = f(a, b) of `out_shape`, by a kernel of the form f(shape, a, b, out) on dense a and b:
// conv2d's and masked_conv2d's three faces (forward, input gradient, weight gradient).
template <class KernelShape>
Tensor run_bilinear_kernel(kernels::OpTable<void(const KernelShape&, const void*, const void*, void*)>& table,
                           const KernelShape& s, const Shape& out_shape, const Tensor& a, const Tensor& b) {
    Tensor ac = a.contiguous(), bc = b.contiguous();
    Tensor out = empty(out_shape, {a.dtype(), a.device()});
    if (out.numel() > 0) table.get(a.device(), a.dtype())(s, ac.raw_data(), bc.raw_data(), out.raw_data());
    return out;
}

// A float mask (0/1) of the input's dtype: the derivative factor of piecewise ops.
inline Tensor mask_as(const Tensor& mask_u8, DType dtype) { return mask_u8.to(dtype); }

}  // namespace mg::ops_detail
