// conv2d through cuDNN 9's legacy convolution API (kernels/conv.h), the default CUDA variant.
//
//   forward          cudnnConvolutionForward          y  = conv(x, w)
//   backward_input   cudnnConvolutionBackwardData     gx = conv^T(gy, w)
//   backward_weight  cudnnConvolutionBackwardFilter   gw = corr(x, gy)
// Groups through cudnnSetConvolutionGroupCount; the filter descriptor is then
// [C_out, C_in/groups, KH, KW], exactly our weight layout.
//
// Per shape (and dtype and math mode) a plan caches the descriptors and, per direction,
// the algorithm the cuDNN heuristics (the _v7 queries) rank first among those that are
//   - deterministic (CUDNN_DETERMINISTIC: same bits every run, as the design asks), and
//   - for "cudnn": exact arithmetic: float32 with FMA math (no TF32 tensor cores), and no
//     FFT or Winograd algorithms, whose transforms lose accuracy.
//   - for "cudnn_tf32" (float32 only): any math cuDNN picks, TF32 tensor cores included.
//     TF32 PRECISION (10-bit mantissa), NOT FP32: errors near 1e-3 relative.
// Workspace comes from the shared Conv scratch buffer. Handle and plans are created on
// first use, one set per host thread; registration never touches the GPU.
#ifdef MINIGEN_WITH_CUDA
#include <array>
#include <climits>
#include <map>
#include <memory>
#include <tuple>
#include <type_traits>

#include <cudnn.h>

#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/register.h"
#include "kernels/cuda/runtime.h"

namespace mg::kernels::cuda {

namespace {

void check_cudnn(cudnnStatus_t status, const char* what) {
    MG_CHECK(status == CUDNN_STATUS_SUCCESS, "{}: {}", what, cudnnGetErrorString(status));
}

cudnnHandle_t cudnn_handle() {
    return thread_handle(&cudnnCreate, &cudnnSetStream, &check_cudnn, "conv2d[cudnn]: cudnnCreate",
                         "conv2d[cudnn]: cudnnSetStream");
}

enum class ConvMath : uint8_t { Exact, Tf32 };
// The three directions (checks.h): cudnnConvolutionForward, BackwardData, BackwardFilter.
using Dir = ConvDirection;

template <class Algo>
struct Choice {
    Algo algo{};
    cudnnMathType_t math = CUDNN_FMA_MATH;
    size_t workspace = 0;
};

struct ConvPlan {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    // Each direction's algorithm, chosen on its first use, in Dir's order.
    std::tuple<std::unique_ptr<Choice<cudnnConvolutionFwdAlgo_t>>,
               std::unique_ptr<Choice<cudnnConvolutionBwdDataAlgo_t>>,
               std::unique_ptr<Choice<cudnnConvolutionBwdFilterAlgo_t>>>
        choices;

    ConvPlan() = default;
    ConvPlan(const ConvPlan&) = delete;
    ConvPlan& operator=(const ConvPlan&) = delete;
    ~ConvPlan() {  // host-side objects only: safe at any time
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
    }
};

using PlanKey = std::array<int64_t, 18>;

PlanKey key_of(const Conv2dShape& s, DType t, ConvMath math) {
    return {s.n,        s.c_in,     s.h,     s.w,     s.c_out, s.kh,    s.kw,     s.oh,       s.ow,
            s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dil_h, s.dil_w, s.groups, int64_t(t), int64_t(math)};
}

int as_int(int64_t v, const char* what) {
    MG_CHECK(v >= 0 && v <= INT_MAX, "{}: size {} exceeds cuDNN's int range", what, v);
    return int(v);
}

// FMA math keeps float32 off the TF32 tensor cores; float64 has no TF32 to avoid.
cudnnMathType_t base_math(ConvMath math, DType t) {
    return math == ConvMath::Exact && t == DType::Float32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

ConvPlan& plan_for(const Conv2dShape& s, DType t, ConvMath math, const char* what) {
    thread_local std::map<PlanKey, std::unique_ptr<ConvPlan>> plans;
    std::unique_ptr<ConvPlan>& slot = plans[key_of(s, t, math)];
    if (slot) return *slot;
    auto plan = std::make_unique<ConvPlan>();
    const cudnnDataType_t type = t == DType::Float32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
    check_cudnn(cudnnCreateTensorDescriptor(&plan->x), what);
    check_cudnn(cudnnCreateTensorDescriptor(&plan->y), what);
    check_cudnn(cudnnCreateFilterDescriptor(&plan->w), what);
    check_cudnn(cudnnCreateConvolutionDescriptor(&plan->conv), what);
    check_cudnn(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, type, as_int(s.n, what), as_int(s.c_in, what),
                                           as_int(s.h, what), as_int(s.w, what)),
                what);
    check_cudnn(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, type, as_int(s.n, what), as_int(s.c_out, what),
                                           as_int(s.oh, what), as_int(s.ow, what)),
                what);
    check_cudnn(cudnnSetFilter4dDescriptor(plan->w, type, CUDNN_TENSOR_NCHW, as_int(s.c_out, what),
                                           as_int(s.c_in / s.groups, what), as_int(s.kh, what), as_int(s.kw, what)),
                what);
    check_cudnn(cudnnSetConvolution2dDescriptor(plan->conv, as_int(s.pad_h, what), as_int(s.pad_w, what),
                                                as_int(s.stride_h, what), as_int(s.stride_w, what),
                                                as_int(s.dil_h, what), as_int(s.dil_w, what),
                                                CUDNN_CROSS_CORRELATION, type),
                what);
    check_cudnn(cudnnSetConvolutionGroupCount(plan->conv, as_int(s.groups, what)), what);
    check_cudnn(cudnnSetConvolutionMathType(plan->conv, base_math(math, t)), what);
    int n = 0, c = 0, oh = 0, ow = 0;
    check_cudnn(cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x, plan->w, &n, &c, &oh, &ow), what);
    MG_CHECK(n == s.n && c == s.c_out && oh == s.oh && ow == s.ow,
             "{}: cuDNN computes output [{}, {}, {}, {}], the shape says [{}, {}, {}, {}]", what, n, c, oh, ow, s.n,
             s.c_out, s.oh, s.ow);
    slot = std::move(plan);
    return *slot;
}

bool is_tensor_op(cudnnMathType_t m) { return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION; }

bool exact_algo(cudnnConvolutionFwdAlgo_t a) {
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
bool exact_algo(cudnnConvolutionBwdDataAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}
bool exact_algo(cudnnConvolutionBwdFilterAlgo_t a) {
    return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 ||
           a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
}

// The first acceptable entry of cuDNN's ranking, or `fallback` (an implicit-GEMM
// algorithm: deterministic, exact, always supported) when none is.
template <class Perf, class Algo>
Choice<Algo> pick(const Perf* perf, int count, ConvMath math, cudnnMathType_t base, Algo fallback) {
    for (int i = 0; i < count; ++i) {
        const Perf& p = perf[i];
        if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC) continue;
        if (math == ConvMath::Exact && (!exact_algo(p.algo) || is_tensor_op(p.mathType))) continue;
        return {p.algo, p.mathType, 0};
    }
    return {fallback, base, 0};
}

// ---- the three directions -----------------------------------------------------------
// What differs between them is cuDNN's types and calls, picked by `dir` below; convolve()
// is the one kernel.

template <Dir dir>
using PerfOf = std::conditional_t<dir == Dir::Forward, cudnnConvolutionFwdAlgoPerf_t,
                                  std::conditional_t<dir == Dir::BackwardInput, cudnnConvolutionBwdDataAlgoPerf_t,
                                                     cudnnConvolutionBwdFilterAlgoPerf_t>>;
template <Dir dir>
using AlgoOf = decltype(PerfOf<dir>::algo);
template <Dir dir>
constexpr int kAlgoCount = dir == Dir::Forward        ? int(CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
                           : dir == Dir::BackwardInput ? int(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)
                                                      : int(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);

constexpr const char* kVariantNames[3][2] = {  // [dir][math]
    {"conv2d_forward[cudnn]", "conv2d_forward[cudnn_tf32]"},
    {"conv2d_backward_input[cudnn]", "conv2d_backward_input[cudnn_tf32]"},
    {"conv2d_backward_weight[cudnn]", "conv2d_backward_weight[cudnn_tf32]"}};

// cuDNN's ranking of the direction's algorithms (the _v7 heuristics) into perf[0 .. *count).
template <Dir dir>
cudnnStatus_t rank(cudnnHandle_t h, const ConvPlan& p, int* count, PerfOf<dir> (&perf)[kAlgoCount<dir>]) {
    constexpr int n = kAlgoCount<dir>;
    if constexpr (dir == Dir::Forward)
        return cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, n, count, perf);
    else if constexpr (dir == Dir::BackwardInput)
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x, n, count, perf);
    else
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, n, count, perf);
}

template <Dir dir>
cudnnStatus_t workspace_size(cudnnHandle_t h, const ConvPlan& p, AlgoOf<dir> algo, size_t* bytes) {
    if constexpr (dir == Dir::Forward)
        return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, algo, bytes);
    else if constexpr (dir == Dir::BackwardInput)
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, algo, bytes);
    else
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, algo, bytes);
}

// An implicit-GEMM algorithm of the direction: deterministic, exact, always supported.
template <Dir dir>
constexpr AlgoOf<dir> fallback() {
    if constexpr (dir == Dir::Forward) return CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    else if constexpr (dir == Dir::BackwardInput) return CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    else return CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
}

// The direction's algorithm for this plan (chosen on first use), with the plan's math set to it.
template <Dir dir>
const Choice<AlgoOf<dir>>& choose(cudnnHandle_t handle, ConvPlan& plan, ConvMath math, DType t, const char* what) {
    std::unique_ptr<Choice<AlgoOf<dir>>>& slot = std::get<int(dir)>(plan.choices);
    if (!slot) {
        PerfOf<dir> perf[kAlgoCount<dir>];
        int count = 0;
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, base_math(math, t)), what);
        check_cudnn(rank<dir>(handle, plan, &count, perf), what);
        auto choice = pick(perf, count, math, base_math(math, t), fallback<dir>());
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, choice.math), what);
        check_cudnn(workspace_size<dir>(handle, plan, choice.algo, &choice.workspace), what);
        slot = std::make_unique<Choice<AlgoOf<dir>>>(choice);
    }
    check_cudnn(cudnnSetConvolutionMathType(plan.conv, slot->math), what);
    return *slot;
}

// Runs the direction with the plan's algorithm. a, b are its inputs in the kernels' order
// (kernels/conv.h): x, w (forward); gy, w (backward_input); x, gy (backward_weight).
template <Dir dir, class T>
cudnnStatus_t execute(cudnnHandle_t h, const ConvPlan& p, const Choice<AlgoOf<dir>>& c, void* ws, const void* a,
                      const void* b, void* out) {
    const T one = T(1), nil = T(0);
    if constexpr (dir == Dir::Forward)
        return cudnnConvolutionForward(h, &one, p.x, a, p.w, b, p.conv, c.algo, ws, c.workspace, &nil, p.y, out);
    else if constexpr (dir == Dir::BackwardInput)
        return cudnnConvolutionBackwardData(h, &one, p.w, b, p.y, a, p.conv, c.algo, ws, c.workspace, &nil, p.x, out);
    else
        return cudnnConvolutionBackwardFilter(h, &one, p.x, a, p.y, b, p.conv, c.algo, ws, c.workspace, &nil, p.w,
                                              out);
}

// One direction of conv2d, the registered kernel (every direction has the signature of kernels/conv.h).
template <Dir dir, class T, ConvMath math>
void convolve(const Conv2dShape& s, const void* a, const void* b, void* out) {
    const char* what = kVariantNames[int(dir)][int(math)];
    if (conv2d_done_early(what, s, dir, out, sizeof(T))) return;
    constexpr DType t = dtype_of<T>::value;
    cudnnHandle_t handle = cudnn_handle();
    ConvPlan& plan = plan_for(s, t, math, what);
    const auto& c = choose<dir>(handle, plan, math, t, what);
    void* ws = c.workspace ? workspace(Workspace::Conv, c.workspace, what) : nullptr;
    check_cudnn(execute<dir, T>(handle, plan, c, ws, a, b, out), what);
}

// The three directions of one (dtype, math) as one variant.
template <class T, ConvMath math>
void add_variant(const char* name, int priority, const char* doc) {
    constexpr DType t = dtype_of<T>::value;
    conv2d_forward_table().add(name, Device::CUDA, t, &convolve<Dir::Forward, T, math>, priority, doc);
    conv2d_backward_input_table().add(name, Device::CUDA, t, &convolve<Dir::BackwardInput, T, math>, priority, doc);
    conv2d_backward_weight_table().add(name, Device::CUDA, t, &convolve<Dir::BackwardWeight, T, math>, priority,
                                       doc);
}

}  // namespace

void register_cuda_conv_cudnn() {
    const char* exact =
        "cuDNN legacy API, deterministic FP32/FP64 algorithms (no TF32, FFT or Winograd), plan per shape";
    const char* tf32 = "cuDNN with TF32 tensor cores allowed: faster, TF32 precision (~1e-3 relative), not FP32";
    add_variant<float, ConvMath::Exact>("cudnn", 30, exact);
    add_variant<double, ConvMath::Exact>("cudnn", 30, exact);
    add_variant<float, ConvMath::Tf32>("cudnn_tf32", 1, tf32);
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
