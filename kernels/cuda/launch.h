// The seam between the registry side (g++, fmt) and the .cu files (nvcc).
//
// nvcc cannot compile fmt's compile-time format strings, so the .cu files never see
// kernels/base.h. They include this header alone: plain copies of the kernel argument
// structs (register.cpp copies the real ones field by field) and one launch function
// per kernel family. Every launch function runs on current_stream() (runtime.h),
// checks the launch and throws mg::Error naming the op on failure. All pointers are
// device pointers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/elementwise_ops.h"

namespace mg::kernels::cuda {

constexpr int kMaxDims = 8;  // == mg::kernels::kMaxDims

enum class ScalarType : uint8_t { Float32, Float64, Int64, UInt8 };  // the order of mg::DType

// ---- elementwise (kernels/elementwise.h) ------------------------------------

// A copy of mg::kernels::Iter: a strided walk over up to 4 operands, [0] the output.
struct IterDesc {
    int ndim = 0;
    int64_t numel = 0;
    bool contiguous = false;
    int64_t sizes[kMaxDims] = {};
    int64_t strides[4][kMaxDims] = {};  // in elements
};

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

void launch_unary(UnaryOp op, ScalarType t, ElementwisePath path, const IterDesc& it, void* out,
                  const void* in, double a, double b);
// `scalar` is the binary-with-scalars ops' p.a (LeakyReluBackward's slope); the others ignore it.
void launch_binary(BinaryOp op, ScalarType t, ElementwisePath path, const IterDesc& it, void* out,
                   const void* a, const void* b, double scalar = 0.0);
void launch_where(ScalarType t, ElementwisePath path, const IterDesc& it, void* out, const void* cond_u8,
                  const void* a, const void* b);
void launch_copy(ScalarType out_t, ScalarType in_t, ElementwisePath path, const IterDesc& it, void* out,
                 const void* in);
void launch_fill(ScalarType t, ElementwisePath path, const IterDesc& it, void* out, double value);

// ---- reductions (kernels/reduce.h) -------------------------------------------

// A copy of mg::kernels::ReduceArgs.
struct ReduceDesc {
    int out_ndim = 0;
    int64_t out_numel = 1;
    int64_t out_sizes[kMaxDims] = {};
    int64_t out_strides[kMaxDims] = {};
    int64_t in_strides[kMaxDims] = {};
    int red_ndim = 0;
    int64_t red_numel = 1;
    int64_t red_sizes[kMaxDims] = {};
    int64_t red_strides[kMaxDims] = {};
};

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
void launch_reduce(ReduceOp op, ScalarType t, ReduceStrategy strategy, const ReduceDesc& r, void* out,
                   const void* in);

// ---- random (kernels/random.h) -------------------------------------------------

enum class RandomDist : uint8_t { Uniform, Normal, Bernoulli };
// n elements into out; the Philox stream of kernels/random.h, bit for bit.
void launch_random(RandomDist dist, ScalarType t, int64_t n, uint64_t seed, uint64_t offset, double a,
                   double b, void* out);

// ---- index (kernels/index.h) ---------------------------------------------------

// How the scatter kernels (put_along, index_add) add duplicates:
// Sorted: stable-sort the destinations, then each destination sums its sources in
//         ascending source order (deterministic, no atomics).
// Atomic: zero, then atomicAdd (fast; the order of duplicate adds is not fixed).
enum class ScatterMethod : uint8_t { Sorted, Atomic };

void launch_take_along(ScalarType t, int64_t rows, int64_t cols, int64_t k, const void* x,
                       const int64_t* idx, void* y);
void launch_put_along(ScalarType t, ScatterMethod method, int64_t rows, int64_t cols, int64_t k,
                      const void* g, const int64_t* idx, void* x);
void launch_index_select(ScalarType t, int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx,
                         void* y);
void launch_index_add(ScalarType t, ScatterMethod method, int64_t v, int64_t d, int64_t k, const void* g,
                      const int64_t* idx, void* x);

// ---- pooling (kernels/pool.h) ------------------------------------------------------

// A copy of mg::kernels::Pool2dShape.
struct PoolDesc {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t kh = 0, kw = 0, oh = 0, ow = 0;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

void launch_max_pool2d_forward(ScalarType t, const PoolDesc& s, const void* x, void* y, int64_t* argmax);
void launch_max_pool2d_backward(ScalarType t, const PoolDesc& s, const void* gy, const int64_t* argmax,
                                void* gx);
void launch_avg_pool2d_forward(ScalarType t, const PoolDesc& s, const void* x, void* y);
void launch_avg_pool2d_backward(ScalarType t, const PoolDesc& s, const void* gy, void* gx);

// ---- gemm (kernels/gemm.h) ----------------------------------------------------------

// A copy of mg::kernels::GemmArgs.
struct GemmDesc {
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    int64_t lda = 0, ldb = 0, ldc = 0;
    int64_t batch = 1;
    int64_t stride_a = 0, stride_b = 0, stride_c = 0;
    double alpha = 1.0, beta = 0.0;
};

// The hand-written progression; gemm.cu says what each step changes.
enum class GemmKernel : uint8_t { Naive, Tiled, RegisterBlocked, WmmaTf32, WmmaBf16 };
void launch_gemm(GemmKernel kernel, ScalarType t, const GemmDesc& g, const void* a, const void* b, void* c);

// ---- im2col (the column kernels of the im2col convolution) ------------------------

// A copy of mg::kernels::Conv2dShape.
struct ConvDesc {
    int64_t n = 0, c_in = 0, h = 0, w = 0;
    int64_t c_out = 0, kh = 0, kw = 0;
    int64_t oh = 0, ow = 0;
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    int64_t groups = 1;
};

// Images [first, first + count) of x [N, C_in, H, W] into col [C_in*KH*KW, count*OH*OW], the
// images side by side (row (c, i, j), column (b, oy, ox); zeros where the window hangs over
// the padding), so one GEMM covers the chunk.
void launch_im2col(ScalarType t, const ConvDesc& s, int64_t first, int64_t count, const void* x, void* col);
// The adjoint: gx[first .. first+count) = sum of col entries that read each pixel.
// A gather per pixel in a fixed order: overwrites gx, no atomics.
void launch_col2im(ScalarType t, const ConvDesc& s, int64_t first, int64_t count, const void* col, void* gx);

}  // namespace mg::kernels::cuda
