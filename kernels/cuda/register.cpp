// Registers every CUDA kernel (Device::CUDA) in the op tables: register_cuda_kernels().
//
// The .cu kernels are reached through kernels/cuda/launch.h: this file copies each
// argument struct into its fmt-free twin field by field and calls the launch function.
// Registration only stores function pointers: no CUDA call happens here, so a build
// with CUDA runs on a machine without a GPU (cuBLAS/cuDNN handles come on first use).
#ifdef MINIGEN_WITH_CUDA
#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/launch.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/index.h"
#include "kernels/pool.h"
#include "kernels/random.h"
#include "kernels/reduce.h"

namespace mg::kernels::cuda {

void register_cuda_gemm_cublas();   // gemm_cublas.cpp
void register_cuda_conv_cudnn();    // conv_cudnn.cpp
void register_cuda_conv_im2col();   // conv_im2col.cpp
void register_cuda_bias_act_adam();  // register_bias_adam.cpp
void register_cuda_masked_conv();   // masked_conv.cpp
void register_cuda_softmax_batch_norm();  // register_norm.cpp

namespace {

static_assert(cuda::kMaxDims == mg::kernels::kMaxDims);
static_assert(int(ScalarType::Float32) == int(DType::Float32) && int(ScalarType::Float64) == int(DType::Float64) &&
              int(ScalarType::Int64) == int(DType::Int64) && int(ScalarType::UInt8) == int(DType::UInt8));
// A field added to an argument struct must be copied below too.
static_assert(sizeof(IterDesc) == sizeof(Iter) && sizeof(ReduceDesc) == sizeof(ReduceArgs) &&
              sizeof(PoolDesc) == sizeof(Pool2dShape) && sizeof(GemmDesc) == sizeof(GemmArgs));

constexpr ScalarType scalar(DType t) { return ScalarType(int(t)); }

IterDesc to_desc(const Iter& it) {
    MG_CHECK(it.ndim >= 0 && it.ndim <= kMaxDims && it.numel >= 0, "cuda elementwise: bad Iter (ndim {}, numel {})",
             it.ndim, it.numel);
    IterDesc d;
    d.ndim = it.ndim;
    d.numel = it.numel;
    d.contiguous = it.contiguous;
    for (int i = 0; i < kMaxDims; ++i) {
        d.sizes[i] = it.sizes[i];
        for (int o = 0; o < 4; ++o) d.strides[o][i] = it.strides[o][i];
    }
    return d;
}

ReduceDesc to_desc(const ReduceArgs& r) {
    MG_CHECK(r.out_ndim >= 0 && r.out_ndim <= kMaxDims && r.red_ndim >= 0 && r.red_ndim <= kMaxDims &&
                 r.out_numel >= 0 && r.red_numel >= 0,
             "cuda reduce: bad ReduceArgs (out_ndim {}, red_ndim {}, out_numel {}, red_numel {})", r.out_ndim,
             r.red_ndim, r.out_numel, r.red_numel);
    ReduceDesc d;
    d.out_ndim = r.out_ndim;
    d.out_numel = r.out_numel;
    d.red_ndim = r.red_ndim;
    d.red_numel = r.red_numel;
    for (int i = 0; i < kMaxDims; ++i) {
        d.out_sizes[i] = r.out_sizes[i];
        d.out_strides[i] = r.out_strides[i];
        d.in_strides[i] = r.in_strides[i];
        d.red_sizes[i] = r.red_sizes[i];
        d.red_strides[i] = r.red_strides[i];
    }
    return d;
}

PoolDesc to_desc(const Pool2dShape& s) {
    PoolDesc d;
    d.n = s.n, d.c = s.c, d.h = s.h, d.w = s.w;
    d.kh = s.kh, d.kw = s.kw, d.oh = s.oh, d.ow = s.ow;
    d.stride_h = s.stride_h, d.stride_w = s.stride_w, d.pad_h = s.pad_h, d.pad_w = s.pad_w;
    return d;
}

GemmDesc to_desc(const GemmArgs& g) {
    GemmDesc d;
    d.trans_a = g.trans_a, d.trans_b = g.trans_b;
    d.m = g.m, d.n = g.n, d.k = g.k;
    d.lda = g.lda, d.ldb = g.ldb, d.ldc = g.ldc;
    d.batch = g.batch;
    d.stride_a = g.stride_a, d.stride_b = g.stride_b, d.stride_c = g.stride_c;
    d.alpha = g.alpha, d.beta = g.beta;
    return d;
}

// ---- elementwise -----------------------------------------------------------------------

constexpr const char* kStridedDoc = "one thread per element walking Iter's strides (32-bit index math when it fits)";
constexpr const char* kVectorizedDoc =
    "contiguous operands: 4 elements per thread per vector load/store (float4), grid-stride; else strided";

template <UnaryOp op, DType t, ElementwisePath path>
void unary_kernel(const Iter& it, void* out, const void* in, Scalars s) {
    launch_unary(op, scalar(t), path, to_desc(it), out, in, s.a, s.b);
}
template <BinaryOp op, DType t, ElementwisePath path>
void binary_kernel(const Iter& it, void* out, const void* a, const void* b) {
    launch_binary(op, scalar(t), path, to_desc(it), out, a, b);
}
template <BinaryOp op, DType t, ElementwisePath path>
void binary_scalar_kernel(const Iter& it, void* out, const void* a, const void* b, Scalars s) {
    launch_binary(op, scalar(t), path, to_desc(it), out, a, b, s.a);
}
template <DType t, ElementwisePath path>
void where_kernel(const Iter& it, void* out, const void* cond, const void* a, const void* b) {
    launch_where(scalar(t), path, to_desc(it), out, cond, a, b);
}
template <DType t, ElementwisePath path>
void copy_kernel(const Iter& it, void* out, const void* in, DType in_dtype) {
    launch_copy(scalar(t), scalar(in_dtype), path, to_desc(it), out, in);
}
template <DType t, ElementwisePath path>
void fill_kernel(const Iter& it, void* out, double value) {
    launch_fill(scalar(t), path, to_desc(it), out, value);
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
    launch_reduce(op, scalar(t), strategy, to_desc(r), out, in);
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
    launch_random(dist, scalar(t), a.n, a.seed, a.offset, a.a, a.b, out);
}

void register_random() {
    const char* doc = "Philox-4x32-10, one thread per 4-element block: the CPU's stream bit for bit";
    random_uniform_table().add("philox", Device::CUDA, DType::Float32,
                               &random_kernel<RandomDist::Uniform, DType::Float32>, 10, doc);
    random_uniform_table().add("philox", Device::CUDA, DType::Float64,
                               &random_kernel<RandomDist::Uniform, DType::Float64>, 10, doc);
    random_normal_table().add("philox", Device::CUDA, DType::Float32,
                              &random_kernel<RandomDist::Normal, DType::Float32>, 10, doc);
    random_normal_table().add("philox", Device::CUDA, DType::Float64,
                              &random_kernel<RandomDist::Normal, DType::Float64>, 10, doc);
    random_bernoulli_table().add("philox", Device::CUDA, DType::Float32,
                                 &random_kernel<RandomDist::Bernoulli, DType::Float32>, 10, doc);
    random_bernoulli_table().add("philox", Device::CUDA, DType::Float64,
                                 &random_kernel<RandomDist::Bernoulli, DType::Float64>, 10, doc);
}

// ---- index ----------------------------------------------------------------------------------

void check_index_sizes(const char* op, int64_t a, int64_t b, int64_t k) {
    MG_CHECK(a >= 0 && b >= 0 && k >= 0, "{}: negative size ({}, {}, {})", op, a, b, k);
}

template <DType t>
void take_along_kernel(int64_t rows, int64_t cols, int64_t k, const void* x, const int64_t* idx, void* y) {
    check_index_sizes("take_along", rows, cols, k);
    launch_take_along(scalar(t), rows, cols, k, x, idx, y);
}
template <DType t, ScatterMethod method>
void put_along_kernel(int64_t rows, int64_t cols, int64_t k, const void* g, const int64_t* idx, void* x) {
    check_index_sizes("put_along", rows, cols, k);
    launch_put_along(scalar(t), method, rows, cols, k, g, idx, x);
}
template <DType t>
void index_select_kernel(int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx, void* y) {
    check_index_sizes("index_select", v, d, k);
    launch_index_select(scalar(t), v, d, k, x, idx, y);
}
template <DType t, ScatterMethod method>
void index_add_kernel(int64_t v, int64_t d, int64_t k, const void* g, const int64_t* idx, void* x) {
    check_index_sizes("index_add", v, d, k);
    launch_index_add(scalar(t), method, v, d, k, g, idx, x);
}

template <DType t>
void add_index_dtype() {
    const char* sorted = "stable radix sort of destinations, then a per-element sum in source order (deterministic)";
    const char* atomic = "zero + atomicAdd per source element: faster, duplicate-add order not fixed";
    take_along_table().add("gather", Device::CUDA, t, &take_along_kernel<t>, 10, "one thread per output element");
    index_select_table().add("gather", Device::CUDA, t, &index_select_kernel<t>, 10, "one thread per output element");
    put_along_table().add("sorted", Device::CUDA, t, &put_along_kernel<t, ScatterMethod::Sorted>, 20, sorted);
    put_along_table().add("atomic", Device::CUDA, t, &put_along_kernel<t, ScatterMethod::Atomic>, 10, atomic);
    index_add_table().add("sorted", Device::CUDA, t, &index_add_kernel<t, ScatterMethod::Sorted>, 20, sorted);
    index_add_table().add("atomic", Device::CUDA, t, &index_add_kernel<t, ScatterMethod::Atomic>, 10, atomic);
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
    launch_max_pool2d_forward(scalar(t), to_desc(s), x, y, argmax);
}
template <DType t>
void max_pool_backward(const Pool2dShape& s, const void* gy, const int64_t* argmax, void* gx) {
    check_pool2d_shape("max_pool2d_backward", s);
    launch_max_pool2d_backward(scalar(t), to_desc(s), gy, argmax, gx);
}
template <DType t>
void avg_pool_forward(const Pool2dShape& s, const void* x, void* y) {
    check_pool2d_shape("avg_pool2d_forward", s);
    launch_avg_pool2d_forward(scalar(t), to_desc(s), x, y);
}
template <DType t>
void avg_pool_backward(const Pool2dShape& s, const void* gy, void* gx) {
    check_pool2d_shape("avg_pool2d_backward", s);
    launch_avg_pool2d_backward(scalar(t), to_desc(s), gy, gx);
}

template <DType t>
void add_pool_dtype() {
    const char* fwd = "one thread per output scanning its window (CPU order: same ties, NaN rule)";
    const char* bwd = "one thread per input pixel gathering from its windows in order: no atomics, no zero pass";
    max_pool2d_forward_table().add("window", Device::CUDA, t, &max_pool_forward<t>, 10, fwd);
    max_pool2d_backward_table().add("gather", Device::CUDA, t, &max_pool_backward<t>, 10, bwd);
    avg_pool2d_forward_table().add("window", Device::CUDA, t, &avg_pool_forward<t>, 10, fwd);
    avg_pool2d_backward_table().add("gather", Device::CUDA, t, &avg_pool_backward<t>, 10, bwd);
}

void register_pool() {
    add_pool_dtype<DType::Float32>();
    add_pool_dtype<DType::Float64>();
}

// ---- gemm (hand-written; cuBLAS is in gemm_cublas.cpp) -----------------------------------------

template <DType t, GemmKernel kernel>
void gemm_kernel(const GemmArgs& g, const void* a, const void* b, void* c) {
    static constexpr const char* names[] = {"naive", "tiled", "regblock", "wmma_tf32", "wmma_bf16"};
    check_gemm_args(g, names[int(kernel)], a, b, c);
    launch_gemm(kernel, scalar(t), to_desc(g), a, b, c);
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
