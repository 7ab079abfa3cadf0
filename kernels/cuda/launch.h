// The seam between the registry side (g++, fmt) and the .cu files (nvcc).
//
// nvcc cannot compile fmt's compile-time format strings, so the .cu files never see
// kernels/base.h. They include this header: the plain argument structs of kernels/args/
// (the very structs the registry's kernels take) and one launch function per kernel
// family. Every launch function runs on current_stream() (runtime.h), checks the launch
// and throws mg::Error naming the op on failure. All pointers are device pointers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/args/conv.h"
#include "kernels/args/dtype.h"
#include "kernels/args/elementwise.h"
#include "kernels/args/gemm.h"
#include "kernels/args/pool.h"
#include "kernels/args/random.h"
#include "kernels/args/reduce.h"
#include "kernels/elementwise_ops.h"

namespace mg::kernels::cuda {

// ---- elementwise (kernels/elementwise.h) ------------------------------------

// One enumerator per op of kernels/elementwise_ops.h's lists, named after its functor (ew::Op).
// Arithmetic ops write the input type, compare ops uint8 0/1; the binary ops with scalars
// (the activation backward helpers) come last in BinaryOp.
#define MG_EW_ENUMERATOR(name, Op, ...) Op,
enum class UnaryOp : uint8_t { MG_UNARY_OPS(MG_EW_ENUMERATOR) };
enum class BinaryOp : uint8_t { MG_BINARY_OPS(MG_EW_ENUMERATOR) MG_BINARY_SCALAR_OPS(MG_EW_ENUMERATOR) };
#undef MG_EW_ENUMERATOR
// The enumerator of a functor: unary_op_of<ew::Sigmoid> == UnaryOp::Sigmoid.
template <class Op> inline constexpr UnaryOp unary_op_of = {};
template <class Op> inline constexpr BinaryOp binary_op_of = {};
#define MG_EW_UNARY_OP_OF(name, Op, ...) template <> inline constexpr UnaryOp unary_op_of<ew::Op> = UnaryOp::Op;
#define MG_EW_BINARY_OP_OF(name, Op, ...) template <> inline constexpr BinaryOp binary_op_of<ew::Op> = BinaryOp::Op;
MG_UNARY_OPS(MG_EW_UNARY_OP_OF)
MG_BINARY_OPS(MG_EW_BINARY_OP_OF)
MG_BINARY_SCALAR_OPS(MG_EW_BINARY_OP_OF)
#undef MG_EW_UNARY_OP_OF
#undef MG_EW_BINARY_OP_OF

// Strided: one generic kernel that walks Iter for every element (the baseline).
// Vectorized: when Iter is contiguous and every pointer is aligned, each thread moves
// 4 elements per operand with one vector load/store (float4 for float32); otherwise
// it falls back to Strided.
enum class ElementwisePath : uint8_t { Strided, Vectorized };

void launch_unary(UnaryOp op, DType t, ElementwisePath path, const Iter& it, void* out,
                  const void* in, double a, double b);
// `scalar` is the binary-with-scalars ops' p.a (LeakyReluBackward's slope); the others ignore it.
void launch_binary(BinaryOp op, DType t, ElementwisePath path, const Iter& it, void* out,
                   const void* a, const void* b, double scalar = 0.0);
void launch_where(DType t, ElementwisePath path, const Iter& it, void* out, const void* cond_u8,
                  const void* a, const void* b);
void launch_copy(DType out_t, DType in_t, ElementwisePath path, const Iter& it, void* out,
                 const void* in);
void launch_fill(DType t, ElementwisePath path, const Iter& it, void* out, double value);

// ---- reductions (kernels/reduce.h) -------------------------------------------

enum class ReduceOp : uint8_t { Sum, Max, Min };
// Who folds one output element. Each strategy fixes its order of operations from the
// shapes alone, so results are bitwise reproducible on a given GPU model.
enum class ReduceStrategy : uint8_t {
    ThreadPerOutput,  // a plain loop: many outputs, few reduced elements each
    WarpPerOutput,    // 32 lanes stride over the reduced elements, then a shuffle tree
    BlockPerOutput,   // 256 threads per output; long reductions split into a fixed number
                      // of chunks (from red_numel alone) and combined in a second pass
    Auto,             // picks one of the above from red_numel
};
void launch_reduce(ReduceOp op, DType t, ReduceStrategy strategy, const ReduceArgs& r, void* out, const void* in);

// ---- random (kernels/random.h) -------------------------------------------------

enum class RandomDist : uint8_t { Uniform, Normal, Bernoulli };
// a.n elements into out; the Philox stream of kernels/random.h, bit for bit.
void launch_random(RandomDist dist, DType t, const RandomArgs& a, void* out);

// ---- index (kernels/index.h) ---------------------------------------------------

// How the scatter kernels (put_along, index_add) add duplicates:
// Sorted: stable-sort the destinations, then each destination sums its sources in
//         ascending source order (deterministic, no atomics).
// Atomic: zero, then atomicAdd (fast; the order of duplicate adds is not fixed).
enum class ScatterMethod : uint8_t { Sorted, Atomic };

void launch_take_along(DType t, int64_t rows, int64_t cols, int64_t k, const void* x, const int64_t* idx, void* y);
void launch_put_along(DType t, ScatterMethod method, int64_t rows, int64_t cols, int64_t k,
                      const void* g, const int64_t* idx, void* x);
void launch_index_select(DType t, int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx, void* y);
void launch_index_add(DType t, ScatterMethod method, int64_t v, int64_t d, int64_t k, const void* g,
                      const int64_t* idx, void* x);

// ---- pooling (kernels/pool.h) ------------------------------------------------------

void launch_max_pool2d_forward(DType t, const Pool2dShape& s, const void* x, void* y, int64_t* argmax);
void launch_max_pool2d_backward(DType t, const Pool2dShape& s, const void* gy, const int64_t* argmax, void* gx);
void launch_avg_pool2d_forward(DType t, const Pool2dShape& s, const void* x, void* y);
void launch_avg_pool2d_backward(DType t, const Pool2dShape& s, const void* gy, void* gx);

// ---- gemm (kernels/gemm.h) ----------------------------------------------------------

// The hand-written progression; gemm.cu says what each step changes.
enum class GemmKernel : uint8_t { Naive, Tiled, RegisterBlocked, WmmaTf32, WmmaBf16 };
void launch_gemm(GemmKernel kernel, DType t, const GemmArgs& g, const void* a, const void* b, void* c);

// ---- im2col (the column kernels of the im2col convolution) ------------------------

// Images [first, first + count) of x [N, C_in, H, W] into col [C_in*KH*KW, count*OH*OW], the
// images side by side (row (c, i, j), column (b, oy, ox); zeros where the window hangs over
// the padding), so one GEMM covers the chunk.
void launch_im2col(DType t, const Conv2dShape& s, int64_t first, int64_t count, const void* x, void* col);
// The adjoint: gx[first .. first+count) = sum of col entries that read each pixel.
// A gather per pixel in a fixed order: overwrites gx, no atomics.
void launch_col2im(DType t, const Conv2dShape& s, int64_t first, int64_t count, const void* col, void* gx);

}  // namespace mg::kernels::cuda
