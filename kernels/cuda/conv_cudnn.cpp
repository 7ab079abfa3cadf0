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

#include <cudnn.h>

#include "kernels/conv.h"
#include "kernels/cuda/checks.h"
#include "kernels/cuda/runtime.h"

namespace mg::kernels::cuda {

namespace {

void check_cudnn(cudnnStatus_t status, const char* what) {
    MG_CHECK(status == CUDNN_STATUS_SUCCESS, "{}: {}", what, cudnnGetErrorString(status));
}

// Never destroyed: destroying a handle during process teardown can outlive the driver.
cudnnHandle_t cudnn_handle() {
    thread_local cudnnHandle_t handle = [] {
        cudnnHandle_t h = nullptr;
        check_cudnn(cudnnCreate(&h), "conv2d[cudnn]: cudnnCreate");
        return h;
    }();
    check_cudnn(cudnnSetStream(handle, current_stream()), "conv2d[cudnn]: cudnnSetStream");
    return handle;
}

enum class ConvMath : uint8_t { Exact, Tf32 };

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
    std::unique_ptr<Choice<cudnnConvolutionFwdAlgo_t>> forward;
    std::unique_ptr<Choice<cudnnConvolutionBwdDataAlgo_t>> backward_data;
    std::unique_ptr<Choice<cudnnConvolutionBwdFilterAlgo_t>> backward_filter;

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

template <class T>
void zero(void* p, size_t elements, const char* what) {
    check(cudaMemsetAsync(p, 0, elements * sizeof(T), current_stream()), what);
}

// ---- the three directions -----------------------------------------------------------

template <class T, ConvMath math>
void forward(const Conv2dShape& s, const void* x, const void* w, void* y) {
    const char* what = math == ConvMath::Exact ? "conv2d_forward[cudnn]" : "conv2d_forward[cudnn_tf32]";
    check_conv2d_shape(what, s);
    const int64_t y_elements = s.n * s.c_out * s.oh * s.ow;
    if (y_elements == 0) return;
    if (s.c_in == 0) return zero<T>(y, size_t(y_elements), what);
    cudnnHandle_t handle = cudnn_handle();
    ConvPlan& plan = plan_for(s, dtype_of<T>::value, math, what);
    if (!plan.forward) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int count = 0;
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, base_math(math, dtype_of<T>::value)), what);
        check_cudnn(cudnnGetConvolutionForwardAlgorithm_v7(handle, plan.x, plan.w, plan.conv, plan.y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf),
                    what);
        auto choice =
            pick(perf, count, math, base_math(math, dtype_of<T>::value), CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, choice.math), what);
        check_cudnn(cudnnGetConvolutionForwardWorkspaceSize(handle, plan.x, plan.w, plan.conv, plan.y, choice.algo,
                                                            &choice.workspace),
                    what);
        plan.forward = std::make_unique<Choice<cudnnConvolutionFwdAlgo_t>>(choice);
    }
    const auto& c = *plan.forward;
    check_cudnn(cudnnSetConvolutionMathType(plan.conv, c.math), what);
    void* ws = c.workspace ? workspace(Workspace::Conv, c.workspace, what) : nullptr;
    const T one = T(1), nil = T(0);
    check_cudnn(cudnnConvolutionForward(handle, &one, plan.x, x, plan.w, w, plan.conv, c.algo, ws, c.workspace, &nil,
                                        plan.y, y),
                what);
}

template <class T, ConvMath math>
void backward_input(const Conv2dShape& s, const void* gy, const void* w, void* gx) {
    const char* what = math == ConvMath::Exact ? "conv2d_backward_input[cudnn]" : "conv2d_backward_input[cudnn_tf32]";
    check_conv2d_shape(what, s);
    const int64_t gx_elements = s.n * s.c_in * s.h * s.w;
    if (gx_elements == 0) return;
    if (s.c_out == 0 || s.oh == 0 || s.ow == 0) return zero<T>(gx, size_t(gx_elements), what);
    cudnnHandle_t handle = cudnn_handle();
    ConvPlan& plan = plan_for(s, dtype_of<T>::value, math, what);
    if (!plan.backward_data) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        int count = 0;
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, base_math(math, dtype_of<T>::value)), what);
        check_cudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, plan.w, plan.y, plan.conv, plan.x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf),
                    what);
        auto choice = pick(perf, count, math, base_math(math, dtype_of<T>::value), CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, choice.math), what);
        check_cudnn(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, plan.w, plan.y, plan.conv, plan.x,
                                                                 choice.algo, &choice.workspace),
                    what);
        plan.backward_data = std::make_unique<Choice<cudnnConvolutionBwdDataAlgo_t>>(choice);
    }
    const auto& c = *plan.backward_data;
    check_cudnn(cudnnSetConvolutionMathType(plan.conv, c.math), what);
    void* ws = c.workspace ? workspace(Workspace::Conv, c.workspace, what) : nullptr;
    const T one = T(1), nil = T(0);
    check_cudnn(cudnnConvolutionBackwardData(handle, &one, plan.w, w, plan.y, gy, plan.conv, c.algo, ws, c.workspace,
                                             &nil, plan.x, gx),
                what);
}

template <class T, ConvMath math>
void backward_weight(const Conv2dShape& s, const void* x, const void* gy, void* gw) {
    const char* what = math == ConvMath::Exact ? "conv2d_backward_weight[cudnn]" : "conv2d_backward_weight[cudnn_tf32]";
    check_conv2d_shape(what, s);
    const int64_t gw_elements = s.c_out * (s.groups > 0 ? s.c_in / s.groups : 0) * s.kh * s.kw;
    if (gw_elements == 0) return;
    if (s.n == 0 || s.oh == 0 || s.ow == 0) return zero<T>(gw, size_t(gw_elements), what);
    cudnnHandle_t handle = cudnn_handle();
    ConvPlan& plan = plan_for(s, dtype_of<T>::value, math, what);
    if (!plan.backward_filter) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        int count = 0;
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, base_math(math, dtype_of<T>::value)), what);
        check_cudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, plan.x, plan.y, plan.conv, plan.w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count,
                                                                  perf),
                    what);
        auto choice = pick(perf, count, math, base_math(math, dtype_of<T>::value), CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
        check_cudnn(cudnnSetConvolutionMathType(plan.conv, choice.math), what);
        check_cudnn(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, plan.x, plan.y, plan.conv, plan.w,
                                                                   choice.algo, &choice.workspace),
                    what);
        plan.backward_filter = std::make_unique<Choice<cudnnConvolutionBwdFilterAlgo_t>>(choice);
    }
    const auto& c = *plan.backward_filter;
    check_cudnn(cudnnSetConvolutionMathType(plan.conv, c.math), what);
    void* ws = c.workspace ? workspace(Workspace::Conv, c.workspace, what) : nullptr;
    const T one = T(1), nil = T(0);
    check_cudnn(cudnnConvolutionBackwardFilter(handle, &one, plan.x, x, plan.y, gy, plan.conv, c.algo, ws,
                                               c.workspace, &nil, plan.w, gw),
                what);
}

}  // namespace

void register_cuda_conv_cudnn() {
    const char* exact =
        "cuDNN legacy API, deterministic FP32/FP64 algorithms (no TF32, FFT or Winograd), plan per shape";
    const char* tf32 = "cuDNN with TF32 tensor cores allowed: faster, TF32 precision (~1e-3 relative), not FP32";
    conv2d_forward_table().add("cudnn", Device::CUDA, DType::Float32, &forward<float, ConvMath::Exact>, 30, exact);
    conv2d_forward_table().add("cudnn", Device::CUDA, DType::Float64, &forward<double, ConvMath::Exact>, 30, exact);
    conv2d_forward_table().add("cudnn_tf32", Device::CUDA, DType::Float32, &forward<float, ConvMath::Tf32>, 1, tf32);
    conv2d_backward_input_table().add("cudnn", Device::CUDA, DType::Float32, &backward_input<float, ConvMath::Exact>,
                                      30, exact);
    conv2d_backward_input_table().add("cudnn", Device::CUDA, DType::Float64, &backward_input<double, ConvMath::Exact>,
                                      30, exact);
    conv2d_backward_input_table().add("cudnn_tf32", Device::CUDA, DType::Float32,
                                      &backward_input<float, ConvMath::Tf32>, 1, tf32);
    conv2d_backward_weight_table().add("cudnn", Device::CUDA, DType::Float32,
                                       &backward_weight<float, ConvMath::Exact>, 30, exact);
    conv2d_backward_weight_table().add("cudnn", Device::CUDA, DType::Float64,
                                       &backward_weight<double, ConvMath::Exact>, 30, exact);
    conv2d_backward_weight_table().add("cudnn_tf32", Device::CUDA, DType::Float32,
                                       &backward_weight<float, ConvMath::Tf32>, 1, tf32);
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
