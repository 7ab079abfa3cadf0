// Elementwise kernels: unary, binary, compare, where, copy/cast, fill.
//
// The op layer (core/) hands kernels an Iter (kernels/args/elementwise.h): a strided
// N-d walk over up to four operands, operand 0 being the output.
#pragma once

#include <type_traits>

#include "kernels/args/elementwise.h"
#include "kernels/cost.h"
#include "kernels/elementwise_ops.h"
#include "kernels/registry.h"

namespace mg::kernels {

using UnaryFn = void(const Iter& it, void* out, const void* in, Scalars s);
using BinaryFn = void(const Iter& it, void* out, const void* a, const void* b);
using WhereFn = void(const Iter& it, void* out, const void* cond_u8, const void* a, const void* b);
// copy/cast: the table's dtype is the output dtype; the input dtype is passed.
using CopyFn = void(const Iter& it, void* out, const void* in, DType in_dtype);
using FillFn = void(const Iter& it, void* out, double value);

using BinaryScalarFn = void(const Iter& it, void* out, const void* a, const void* b, Scalars s);

// Every operand counted at the table's dtype (a compare's uint8 output too); copy reads its
// input at its own dtype; fill and copy do no arithmetic.
template <> struct KernelCost<UnaryFn> {
    static Cost of(DType t, const Iter& it, void*, const void*, Scalars) { return elementwise_cost(it, t, 2); }
};
template <> struct KernelCost<BinaryFn> {
    static Cost of(DType t, const Iter& it, void*, const void*, const void*) { return elementwise_cost(it, t, 3); }
};
template <> struct KernelCost<BinaryScalarFn> {
    static Cost of(DType t, const Iter& it, void*, const void*, const void*, Scalars) {
        return elementwise_cost(it, t, 3);
    }
};
template <> struct KernelCost<WhereFn> {
    static Cost of(DType t, const Iter& it, void*, const void*, const void*, const void*) {
        return elementwise_cost(it, t, 4);
    }
};
template <> struct KernelCost<CopyFn> {
    static Cost of(DType t, const Iter& it, void*, const void*, DType in) {
        return {0.0, double(it.numel) * double(dtype_size(t) + dtype_size(in))};
    }
};
template <> struct KernelCost<FillFn> {
    static Cost of(DType t, const Iter& it, void*, double) { return {0.0, double(it.numel) * double(dtype_size(t))}; }
};

// One table per op of kernels/elementwise_ops.h's lists (what each computes, and on which
// dtypes, is written there): unary ops (float32/float64, some int64), binary and compare ops
// (compare: inputs of the table's dtype, output uint8 0/1), and the backward helpers of
// activations, one pass instead of a chain of tensor ops (a = the forward's input or output,
// b = the gradient of the output).
#define MG_EW_UNARY_TABLE(name, ...) MG_KERNEL_TABLE(name, UnaryFn)
#define MG_EW_BINARY_TABLE(name, ...) MG_KERNEL_TABLE(name, BinaryFn)
#define MG_EW_BINARY_SCALAR_TABLE(name, ...) MG_KERNEL_TABLE(name, BinaryScalarFn)
MG_UNARY_OPS(MG_EW_UNARY_TABLE)
MG_BINARY_OPS(MG_EW_BINARY_TABLE)
MG_BINARY_SCALAR_OPS(MG_EW_BINARY_SCALAR_TABLE)
#undef MG_EW_UNARY_TABLE
#undef MG_EW_BINARY_TABLE
#undef MG_EW_BINARY_SCALAR_TABLE

// f(ew::Op{}, table) for every op of one list, in its order: what registers, tests and
// benches the ops (what each says about itself: ew::op_info<Op>).
#define MG_EW_VISIT(name, Op, ...) f(ew::Op{}, name##_table());
template <class F> void for_each_unary_op(F&& f) { MG_UNARY_OPS(MG_EW_VISIT) }
template <class F> void for_each_binary_op(F&& f) { MG_BINARY_OPS(MG_EW_VISIT) }
template <class F> void for_each_binary_scalar_op(F&& f) { MG_BINARY_SCALAR_OPS(MG_EW_VISIT) }
#undef MG_EW_VISIT

// f(std::type_identity<T>{}) for each value type Op is registered for.
template <class Op, class F> void for_each_value_type(F&& f) {
    f(std::type_identity<float>{});
    f(std::type_identity<double>{});
    if constexpr (ew::op_info<Op>.dtypes != ew::Dtypes::floats) f(std::type_identity<int64_t>{});
    if constexpr (ew::op_info<Op>.dtypes == ew::Dtypes::floats_int64_uint8) f(std::type_identity<uint8_t>{});
}

MG_KERNEL_TABLE(where, WhereFn)  // out = cond ? a : b
MG_KERNEL_TABLE(copy, CopyFn)    // out = (out dtype) in, any strides
MG_KERNEL_TABLE(fill, FillFn)

}  // namespace mg::kernels
