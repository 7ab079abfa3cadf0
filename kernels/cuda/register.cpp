// Registers every CUDA kernel (Device::CUDA) in the op tables: register_cuda_kernels().
//
// The .cu kernels are reached through kernels/cuda/launch.h: each entry checks its
// arguments here (g++, fmt) and hands the same argument struct to the launch function.
// Registration only stores function pointers: no CUDA call happens here, so a build
// with CUDA runs on a machine without a GPU (cuBLAS/cuDNN handles come on first use).
#ifdef MINIGEN_WITH_CUDA
#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/register.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/index.h"
#include "kernels/pool.h"
#include "kernels/random.h"
#include "kernels/reduce.h"

namespace mg::kernels::cuda {

namespace {

// The checks of what the .cu side indexes with (it cannot format an error).
const Iter& checked(const Iter& it) {
    MG_CHECK(it.ndim >= 0 && it.ndim <= kMaxDims && it.numel >= 0, "cuda elementwise: bad Iter (ndim {}, numel {})",
             it.ndim, it.numel);
    return it;
}

const ReduceArgs& checked(const ReduceArgs& r) {
    MG_CHECK(r.out_ndim >= 0 && r.out_ndim <= kMaxDims && r.red_ndim >= 0 && r.red_ndim <= kMaxDims &&
                 r.out_numel >= 0 && r.red_numel >= 0,
             "cuda reduce: bad ReduceArgs (out_ndim {}, red_ndim {}, out_numel {}, red_numel {})", r.out_ndim,
             r.red_ndim, r.out_numel, r.red_numel);
    return r;
}

// ---- elementwise -----------------------------------------------------------------------

constexpr const char* kStridedDoc = "one thread per element walking Iter's strides (32-bit index math when it fits)";
constexpr const char* kVectorizedDoc =
    "contiguous operands: 4 elements per thread per vector load/store (float4), grid-stride; else strided";

template <UnaryOp op, DType t, ElementwisePath path>
void unary_kernel(const Iter& it, void* out, const void* in, Scalars s) {
    launch_unary(op, t, path, checked(it), out, in, s.a, s.b);
}
template <BinaryOp op, DType t, ElementwisePath path>
void binary_kernel(const Iter& it, void* out, const void* a, const void* b) {
    launch_binary(op, t, path, checked(it), out, a, b);
}
template <BinaryOp op, DType t, ElementwisePath path>
void binary_scalar_kernel(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    launch_binary(op, t, path, checked(it), out, a, b, s.a);
}
template <DType t, ElementwisePath path>
void where_kernel(const Iter& it, void* out, const void* cond, const void* a, const void* b) {
    launch_where(t, path, checked(it), out, cond, a, b);
}
template <DType t, ElementwisePath path>
void copy_kernel(const Iter& it, void* out, const void* in, DType in_dtype) {
    launch_copy(t, in_dtype, path, checked(it), out, in);
}
template <DType t, ElementwisePath path>
void fill_kernel(const Iter& it, void* out, double value) {
    launch_fill(t, path, checked(it), out, value);
}

// Both paths of one elementwise kernel for one dtype; `Kernel<t, path>` names the function.
template <class Fn, DType t, Fn* strided, Fn* vectorized>
void add_paths(OpTable<Fn>& table) {
    table.add("strided", Device::CUDA, t, strided, 10, kStridedDoc);
    table.add("vectorized", Device::CUDA, t, vectorized, 20, kVectorizedDoc);
}

// Both paths of Op's kernel for every value type its list entry names.
template <class Op, class Fn> void add_elementwise(OpTable<Fn>& table) {
    for_each_value_type<Op>([&](auto type) {
        constexpr DType t = dtype_of<typename decltype(type)::type>::value;
        constexpr auto Strided = ElementwisePath::Strided, Vectorized = ElementwisePath::Vectorized;
        if constexpr (std::is_same_v<Fn, UnaryFn>) {
            constexpr UnaryOp op = unary_op_of<Op>;
            add_paths<Fn, t, &unary_kernel<op, t, Strided>, &unary_kernel<op, t, Vectorized>>(table);
        } else if constexpr (std::is_same_v<Fn, BinaryFn>) {
            constexpr BinaryOp op = binary_op_of<Op>;
            add_paths<Fn, t, &binary_kernel<op, t, Strided>, &binary_kernel<op, t, Vectorized>>(table);
        } else {
            constexpr BinaryOp op = binary_op_of<Op>;
            add_paths<Fn, t, &binary_scalar_kernel<op, t, Strided>, &binary_scalar_kernel<op, t, Vectorized>>(table);
        }
    });
}

template <DType t>
void add_where_copy_fill() {
    add_paths<WhereFn, t, &where_kernel<t, ElementwisePath::Strided>, &where_kernel<t, ElementwisePath::Vectorized>>(
        where_table());
    add_paths<CopyFn, t, &copy_kernel<t, ElementwisePath::Strided>, &copy_kernel<t, ElementwisePath::Vectorized>>(
        copy_table());
    add_paths<FillFn, t, &fill_kernel<t, ElementwisePath::Strided>, &fill_kernel<t, ElementwisePath::Vectorized>>(
        fill_table());
}

void register_elementwise() {
    auto add = [](auto op, auto& table) { add_elementwise<decltype(op)>(table); };
    for_each_unary_op(add);
    for_each_binary_op(add);
    for_each_binary_scalar_op(add);

    add_where_copy_fill<DType::Float32>();
    add_where_copy_fill<DType::Float64>();
    add_where_copy_fill<DType::Int64>();
    add_paths<CopyFn, DType::UInt8, &copy_kernel<DType::UInt8, ElementwisePath::Strided>,
              &copy_kernel<DType::UInt8, ElementwisePath::Vectorized>>(copy_table());
    add_paths<FillFn, DType::UInt8, &fill_kernel<DType::UInt8, ElementwisePath::Strided>,
              &fill_kernel<DType::UInt8, ElementwisePath::Vectorized>>(fill_table());
}

// ---- reductions ---------------------------------------------------------------------------

template <ReduceOp op, DType t, ReduceStrategy strategy>
void reduce_kernel(const ReduceArgs& r, void* out, const void* in) {
    launch_reduce(op, t, strategy, checked(r), out, in);
}

template <ReduceOp op, DType t>
void add_reduce_dtype(OpTable<ReduceFn>& table) {
    table.add("thread_per_output", Device::CUDA, t, &reduce_kernel<op, t, ReduceStrategy::ThreadPerOutput>, 10,
              "one thread folds each output in order: short reductions, or the kept dim contiguous");
    table.add("warp_per_output", Device::CUDA, t, &reduce_kernel<op, t, ReduceStrategy::WarpPerOutput>, 10,
              "32 lanes stride the reduced elements, then a fixed shuffle tree");
    table.add("block_per_output", Device::CUDA, t, &reduce_kernel<op, t, ReduceStrategy::BlockPerOutput>, 10,
              "256 threads per output; few outputs: fixed chunks + a second pass (deterministic)");
    table.add("auto", Device::CUDA, t, &reduce_kernel<op, t, ReduceStrategy::Auto>, 20,
              "picks thread/warp/block per output from the shape alone (deterministic for a shape)");
}

void register_reduce() {
    add_reduce_dtype<ReduceOp::Sum, DType::Float32>(sum_table());
    add_reduce_dtype<ReduceOp::Sum, DType::Float64>(sum_table());
    add_reduce_dtype<ReduceOp::Max, DType::Float32>(max_table());
    add_reduce_dtype<ReduceOp::Max, DType::Float64>(max_table());
    add_reduce_dtype<ReduceOp::Min, DType::Float32>(min_table());
    add_reduce_dtype<ReduceOp::Min, DType::Float64>(min_table());
    // int64, as the CPU has: the op layer checks index ranges with amin/amax on the
    // indices' device (embedding, gather, cross-entropy targets).
    add_reduce_dtype<ReduceOp::Sum, DType::Int64>(sum_table());
    add_reduce_dtype<ReduceOp::Max, DType::Int64>(max_table());
    add_reduce_dtype<ReduceOp::Min, DType::Int64>(min_table());
}

// ---- random -------------------------------------------------------------------------------

template <RandomDist dist, DType t>
void random_kernel(const RandomArgs& a, void* out) {
    MG_CHECK(a.n >= 0, "cuda random: negative count {}", a.n);
    launch_random(dist, t, a, out);
}

void register_random() {
    for_float_dtypes([]<DType t>() {
        const char* doc = "Philox-4x32-10, one thread per 4-element block: the CPU's stream bit for bit";
        random_uniform_table().add("philox", Device::CUDA, t, &random_kernel<RandomDist::Uniform, t>, 10, doc);
        random_normal_table().add("philox", Device::CUDA, t, &random_kernel<RandomDist::Normal, t>, 10, doc);
        random_bernoulli_table().add("philox", Device::CUDA, t, &random_kernel<RandomDist::Bernoulli, t>, 10, doc);
    });
}

// ---- index ----------------------------------------------------------------------------------

// The gathers (take_along, index_select) share one signature, and so do the scatters
// (put_along, index_add): sizes (a, b, k) checked, then the op's launch.
using GatherLaunch = void(DType, int64_t, int64_t, int64_t, const void*, const int64_t*, void*);
using ScatterLaunch = void(DType, ScatterMethod, int64_t, int64_t, int64_t, const void*, const int64_t*, void*);

void check_index_sizes(const char* op, int64_t a, int64_t b, int64_t k) {
    MG_CHECK(a >= 0 && b >= 0 && k >= 0, "{}: negative size ({}, {}, {})", op, a, b, k);
}

template <const char* op, GatherLaunch* launch, DType t>
void gather_kernel(int64_t a, int64_t b, int64_t k, const void* x, const int64_t* idx, void* y) {
    check_index_sizes(op, a, b, k);
    launch(t, a, b, k, x, idx, y);
}
template <const char* op, ScatterLaunch* launch, DType t, ScatterMethod method>
void scatter_kernel(int64_t a, int64_t b, int64_t k, const void* g, const int64_t* idx, void* x) {
    check_index_sizes(op, a, b, k);
    launch(t, method, a, b, k, g, idx, x);
}
constexpr char kTakeAlong[] = "take_along", kPutAlong[] = "put_along";
constexpr char kIndexSelect[] = "index_select", kIndexAdd[] = "index_add";

template <DType t>
void add_index_dtype() {
    const char* sorted = "stable radix sort of destinations, then a per-element sum in source order (deterministic)";
    const char* atomic = "zero + atomicAdd per source element: faster, duplicate-add order not fixed";
    const char* gather = "one thread per output element";
    take_along_table().add("gather", Device::CUDA, t, &gather_kernel<kTakeAlong, &launch_take_along, t>, 10, gather);
    index_select_table().add("gather", Device::CUDA, t, &gather_kernel<kIndexSelect, &launch_index_select, t>, 10,
                             gather);
    using enum ScatterMethod;
    put_along_table().add("sorted", Device::CUDA, t, &scatter_kernel<kPutAlong, &launch_put_along, t, Sorted>, 20,
                          sorted);
    put_along_table().add("atomic", Device::CUDA, t, &scatter_kernel<kPutAlong, &launch_put_along, t, Atomic>, 10,
                          atomic);
    index_add_table().add("sorted", Device::CUDA, t, &scatter_kernel<kIndexAdd, &launch_index_add, t, Sorted>, 20,
                          sorted);
    index_add_table().add("atomic", Device::CUDA, t, &scatter_kernel<kIndexAdd, &launch_index_add, t, Atomic>, 10,
                          atomic);
}

void register_index() {
    add_index_dtype<DType::Float32>();
    add_index_dtype<DType::Float64>();
    add_index_dtype<DType::Int64>();
}

// ---- pooling --------------------------------------------------------------------------------

template <DType t>
void max_pool_forward(const Pool2dShape& s, const void* x, void* y, int64_t* argmax) {
    check_pool2d_shape("max_pool2d_forward", s);
    launch_max_pool2d_forward(t, s, x, y, argmax);
}
template <DType t>
void max_pool_backward(const Pool2dShape& s, const void* gy, const int64_t* argmax, void* gx) {
    check_pool2d_shape("max_pool2d_backward", s);
    launch_max_pool2d_backward(t, s, gy, argmax, gx);
}
template <DType t>
void avg_pool_forward(const Pool2dShape& s, const void* x, void* y) {
    check_pool2d_shape("avg_pool2d_forward", s);
    launch_avg_pool2d_forward(t, s, x, y);
}
template <DType t>
void avg_pool_backward(const Pool2dShape& s, const void* gy, void* gx) {
    check_pool2d_shape("avg_pool2d_backward", s);
    launch_avg_pool2d_backward(t, s, gy, gx);
}

void register_pool() {
    for_float_dtypes([]<DType t>() {
        const char* fwd = "one thread per output scanning its window (CPU order: same ties, NaN rule)";
        const char* bwd = "one thread per input pixel gathering from its windows in order: no atomics, no zero pass";
        max_pool2d_forward_table().add("window", Device::CUDA, t, &max_pool_forward<t>, 10, fwd);
        max_pool2d_backward_table().add("gather", Device::CUDA, t, &max_pool_backward<t>, 10, bwd);
        avg_pool2d_forward_table().add("window", Device::CUDA, t, &avg_pool_forward<t>, 10, fwd);
        avg_pool2d_backward_table().add("gather", Device::CUDA, t, &avg_pool_backward<t>, 10, bwd);
    });
}

// ---- gemm (hand-written; cuBLAS is in gemm_cublas.cpp) -----------------------------------------

template <DType t, GemmKernel kernel>
void gemm_kernel(const GemmArgs& g, const void* a, const void* b, void* c) {
    static constexpr const char* names[] = {"naive", "tiled", "regblock", "wmma_tf32", "wmma_bf16"};
    check_gemm_args(g, names[int(kernel)], a, b, c);
    launch_gemm(kernel, t, g, a, b, c);
}

template <DType t>
void add_gemm_dtype() {
    auto& table = gemm_table();
    table.add("naive", Device::CUDA, t, &gemm_kernel<t, GemmKernel::Naive>, 0,
              "one thread per C element reading A and B from global memory: the baseline");
    table.add("tiled", Device::CUDA, t, &gemm_kernel<t, GemmKernel::Tiled>, 10,
              "32x32 shared-memory tiles, one C element per thread: 32x less global traffic");
    table.add("regblock", Device::CUDA, t, &gemm_kernel<t, GemmKernel::RegisterBlocked>, 20,
              "128x128x8 block tile, 8x8 C elements per thread in registers: FMA-bound");
}

void register_gemm() {
    add_gemm_dtype<DType::Float32>();
    add_gemm_dtype<DType::Float64>();
    gemm_table().add("wmma_tf32", Device::CUDA, DType::Float32, &gemm_kernel<DType::Float32, GemmKernel::WmmaTf32>, 1,
                     "tensor cores via wmma m16n16k8, 64x64 tile: TF32 precision (~1e-3 relative), not FP32");
    gemm_table().add("wmma_bf16", Device::CUDA, DType::Float32, &gemm_kernel<DType::Float32, GemmKernel::WmmaBf16>, 0,
                     "mixed precision: float32 data, BF16 multiplies via wmma m16n16k16, float32 accumulation, "
                     "128x128 tile, double-buffered: BF16 precision (~1e-2 relative), not FP32");
    register_cuda_gemm_cublas();
}

}  // namespace

}  // namespace mg::kernels::cuda

namespace mg::kernels {

void register_cuda_kernels() {
    cuda::register_elementwise();
    cuda::register_reduce();
    cuda::register_random();
    cuda::register_index();
    cuda::register_pool();
    cuda::register_gemm();
    cuda::register_cuda_conv_cudnn();
    cuda::register_cuda_conv_im2col();
    cuda::register_cuda_bias_act_adam();
    cuda::register_cuda_masked_conv();
    cuda::register_cuda_softmax_batch_norm();
}

}  // namespace mg::kernels
#endif  // MINIGEN_WITH_CUDA
