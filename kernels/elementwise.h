// Elementwise kernels: unary, binary, compare, where, copy/cast, fill.
//
// The op layer (core/) hands kernels an Iter (kernels/args/elementwise.h): a strided
// N-d walk over up to four operands, operand 0 being the output.
#pragma once

#include "kernels/args/elementwise.h"
#include "kernels/registry.h"

namespace mg::kernels {

using UnaryFn = void(const Iter& it, void* out, const void* in, Scalars s);
using BinaryFn = void(const Iter& it, void* out, const void* a, const void* b);
using WhereFn = void(const Iter& it, void* out, const void* cond_u8, const void* a, const void* b);
// copy/cast: the table's dtype is the output dtype; the input dtype is passed.
using CopyFn = void(const Iter& it, void* out, const void* in, DType in_dtype);
using FillFn = void(const Iter& it, void* out, double value);

// Unary, float32/float64.           y =
MG_KERNEL_TABLE(neg, UnaryFn)         // -x
MG_KERNEL_TABLE(exp, UnaryFn)         // e^x
MG_KERNEL_TABLE(log, UnaryFn)         // ln x
MG_KERNEL_TABLE(sqrt, UnaryFn)        // sqrt x
MG_KERNEL_TABLE(abs, UnaryFn)         // |x|
MG_KERNEL_TABLE(sign, UnaryFn)        // -1, 0, 1
MG_KERNEL_TABLE(tanh, UnaryFn)        // tanh x
MG_KERNEL_TABLE(sin, UnaryFn)         // sin x (radians)
MG_KERNEL_TABLE(cos, UnaryFn)         // cos x (radians)
MG_KERNEL_TABLE(sigmoid, UnaryFn)     // 1 / (1 + e^-x)
MG_KERNEL_TABLE(relu, UnaryFn)        // max(x, 0)
MG_KERNEL_TABLE(leaky_relu, UnaryFn)  // x > 0 ? x : a*x
MG_KERNEL_TABLE(elu, UnaryFn)         // x > 0 ? x : a*(e^x - 1)
MG_KERNEL_TABLE(softplus, UnaryFn)    // ln(1 + e^x), stable for large |x|
MG_KERNEL_TABLE(erf, UnaryFn)         // erf x
MG_KERNEL_TABLE(gelu, UnaryFn)        // x * Phi(x) (exact, erf form)
MG_KERNEL_TABLE(clamp, UnaryFn)       // min(max(x, a), b)
MG_KERNEL_TABLE(pow_scalar, UnaryFn)  // x^a
MG_KERNEL_TABLE(affine, UnaryFn)      // a*x + b (scalar add, scale, rsub)

// Binary, float32/float64 (add/sub/mul also int64).
MG_KERNEL_TABLE(add, BinaryFn)
MG_KERNEL_TABLE(sub, BinaryFn)
MG_KERNEL_TABLE(mul, BinaryFn)
MG_KERNEL_TABLE(div, BinaryFn)
MG_KERNEL_TABLE(pow, BinaryFn)
MG_KERNEL_TABLE(maximum, BinaryFn)
MG_KERNEL_TABLE(minimum, BinaryFn)

// Compare: inputs of the table's dtype, output uint8 (0 or 1).
MG_KERNEL_TABLE(eq, BinaryFn)
MG_KERNEL_TABLE(ne, BinaryFn)
MG_KERNEL_TABLE(gt, BinaryFn)
MG_KERNEL_TABLE(ge, BinaryFn)
MG_KERNEL_TABLE(lt, BinaryFn)
MG_KERNEL_TABLE(le, BinaryFn)

// Backward helpers of activations: one pass instead of a chain of tensor ops.
// a = the forward's input or output, b = the gradient of the output.
using BinaryScalarFn = void(const Iter& it, void* out, const void* a, const void* b, Scalars s);
MG_KERNEL_TABLE(leaky_relu_backward, BinaryScalarFn)  // a > 0 ? b : s.a*b  (a = x; relu: a = y, s.a = 0)
MG_KERNEL_TABLE(tanh_backward, BinaryFn)              // b * (1 - a^2)      (a = y)
MG_KERNEL_TABLE(sigmoid_backward, BinaryFn)           // b * a * (1 - a)    (a = y)

MG_KERNEL_TABLE(where, WhereFn)  // out = cond ? a : b
MG_KERNEL_TABLE(copy, CopyFn)    // out = (out dtype) in, any strides
MG_KERNEL_TABLE(fill, FillFn)

}  // namespace mg::kernels
