// Adam / AdamW (kernels/optim.h) on the GPU: one fused pass that reads param, grad and the
// moments once and writes them once. Per element, in torch.optim.Adam's order, in the dtype:
//   AdamW: p *= 1 - lr*wd           Adam: g += wd * p
//   m = beta1*m + (1-beta1)*g        v = beta2*v + (1-beta2)*g*g
//   v_hat = amsgrad ? (vmax = max(vmax, v)) : v
//   p += (-lr / bc1) * m / (sqrt(v_hat) / sqrt(bc2) + eps)
// The step's scalars come from the host in double (computed as kernels/cpu/adam.cpp does)
// and are rounded to the dtype once. Every operation is an explicit round-to-nearest
// intrinsic (__fmul_rn, __fadd_rn, __fdiv_rn, __fsqrt_rn and the double ones): nvcc would
// otherwise contract m*beta1 + (1-beta1)*g into an FMA, which rounds once where the CPU
// rounds twice. With them each element is, by construction, bitwise the CPU reference's.
//
// adam_update        one tensor: a grid-stride loop over its elements.
// adam_update_multi  every tensor of a parameter group in ONE launch. The host writes a small
//                    table into a pinned staging buffer: starts[0..k] (where each non-empty
//                    tensor begins in the concatenation of all of them; starts[k] = total)
//                    and the k tensors' pointers. One cudaMemcpyAsync moves it into the
//                    Optim workspace, then a grid-stride loop runs over the `total`
//                    concatenated elements; the thread at element e finds its tensor by a
//                    binary search over starts (the last j with starts[j] <= e). A warp's
//                    32 consecutive elements almost always share a tensor, so the search
//                    reads the same few words of the table (L1-resident) in every lane. Chosen
//                    over apex's block-per-chunk table because the table stays one entry
//                    per tensor, whatever the tensors' sizes, and the loop is the
//                    single-tensor kernel's. The element code is the same function as
//                    adam_update's. Before the staging buffer is written again, the host
//                    waits on an event recorded after the previous copy from it: a copy
//                    still queued behind earlier kernels must not read a half-new table.
#include <type_traits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/launch_bias_adam.h"

namespace mg::kernels::cuda {

namespace {

// ---- rounded arithmetic that nvcc may not contract into FMAs -------------------------------
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div_rn(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }

// The step's scalars in the dtype (AdamStepDesc rounded once).
template <class T>
struct StepScalars {
    T decay_factor, weight_decay;
    T beta1, one_minus_beta1, beta2, one_minus_beta2;
    T bias_correction2_sqrt, eps, neg_step_size;
};

template <class T>
StepScalars<T> scalars_of(const AdamStepDesc& d) {
    return {T(d.decay_factor), T(d.weight_decay),          T(d.beta1), T(d.one_minus_beta1), T(d.beta2),
            T(d.one_minus_beta2), T(d.bias_correction2_sqrt), T(d.eps),   T(d.neg_step_size)};
}

// One element of the update: kernels/cpu/adam.cpp's adam_element, operation for operation.
template <class T, bool Amsgrad, AdamDecay D>
__device__ __forceinline__ void adam_element(T* param, const T* grad, T* m, T* v, T* vmax, int64_t i,
                                             const StepScalars<T>& s) {
    T p = param[i];
    T g = grad[i];
    if constexpr (D == AdamDecay::Decoupled) p = mul_rn(p, s.decay_factor);
    if constexpr (D == AdamDecay::Coupled) g = add_rn(g, mul_rn(s.weight_decay, p));
    const T mi = add_rn(mul_rn(m[i], s.beta1), mul_rn(s.one_minus_beta1, g));
    T vi = add_rn(mul_rn(v[i], s.beta2), mul_rn(mul_rn(s.one_minus_beta2, g), g));
    m[i] = mi;
    v[i] = vi;
    if constexpr (Amsgrad) {
        const T previous = vmax[i];
        vi = previous > vi ? previous : vi;  // a NaN in v propagates, as on the CPU
        vmax[i] = vi;
    }
    const T denom = add_rn(div_rn(sqrt_rn(vi), s.bias_correction2_sqrt), s.eps);
    param[i] = add_rn(p, div_rn(mul_rn(s.neg_step_size, mi), denom));
}

template <class T, bool Amsgrad, AdamDecay D>
__global__ void adam_update_kernel(StepScalars<T> s, T* param, const T* grad, T* m, T* v, T* vmax, int64_t n) {
    for (int64_t i = global_thread(); i < n; i += grid_threads())
        adam_element<T, Amsgrad, D>(param, grad, m, v, vmax, i, s);
}

// One row of the multi-tensor table.
struct TensorPointers {
    void* param;
    const void* grad;
    void* exp_avg;
    void* exp_avg_sq;
    void* max_exp_avg_sq;  // nullptr: plain Adam for this tensor
};

// The tensor that holds concatenated element e: the last k with starts[k] <= e. starts[0] = 0
// and starts strictly increases (the table has no empty tensor), so the answer is unique.
__device__ __forceinline__ int64_t tensor_of(const int64_t* starts, int64_t count, int64_t e) {
    int64_t lo = 0, hi = count - 1;  // invariant: starts[lo] <= e, the answer in [lo, hi]
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo + 1) / 2;
        if (starts[mid] <= e) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

template <class T, AdamDecay D>
__global__ void adam_update_multi_kernel(StepScalars<T> s, int64_t count, const int64_t* starts,
                                         const TensorPointers* tensors, int64_t total) {
    for (int64_t e = global_thread(); e < total; e += grid_threads()) {
        const int64_t k = tensor_of(starts, count, e);
        const TensorPointers t = tensors[k];
        const int64_t i = e - starts[k];
        T* param = static_cast<T*>(t.param);
        const T* grad = static_cast<const T*>(t.grad);
        T* m = static_cast<T*>(t.exp_avg);
        T* v = static_cast<T*>(t.exp_avg_sq);
        T* vmax = static_cast<T*>(t.max_exp_avg_sq);
        if (vmax != nullptr) adam_element<T, true, D>(param, grad, m, v, vmax, i, s);
        else adam_element<T, false, D>(param, grad, m, v, vmax, i, s);
    }
}

// Calls f(std::integral_constant<AdamDecay, d>{}) for the runtime value d.
template <class F>
void dispatch_decay(AdamDecay d, F&& f) {
    switch (d) {
        case AdamDecay::None: f(std::integral_constant<AdamDecay, AdamDecay::None>{}); return;
        case AdamDecay::Coupled: f(std::integral_constant<AdamDecay, AdamDecay::Coupled>{}); return;
        case AdamDecay::Decoupled: f(std::integral_constant<AdamDecay, AdamDecay::Decoupled>{}); return;
    }
}

// ---- the pinned staging buffer of the multi-tensor table ---------------------------------

// One per host thread, grown and never shrunk or freed (as workspace()): pinned, so that
// cudaMemcpyAsync from it is a true asynchronous copy. `copied` is recorded after each copy.
struct PinnedStaging {
    void* ptr = nullptr;
    size_t bytes = 0;
    cudaEvent_t copied = nullptr;
    bool copy_queued = false;
};

PinnedStaging& staging() {
    thread_local PinnedStaging s;
    return s;
}

// `bytes` of pinned memory that no queued copy reads any more.
void* staging_buffer(size_t bytes, const char* what) {
    PinnedStaging& s = staging();
    if (s.copy_queued) {
        check(cudaEventSynchronize(s.copied), what);
        s.copy_queued = false;
    }
    if (bytes > s.bytes) {
        if (s.ptr != nullptr) check(cudaFreeHost(s.ptr), what);
        s.ptr = nullptr;
        s.bytes = 0;
        const size_t rounded = (bytes + 4095) & ~size_t(4095);
        check(cudaMallocHost(&s.ptr, rounded), what);
        s.bytes = rounded;
    }
    return s.ptr;
}

// Queues the copy of the staging buffer's first `bytes` into `device` and marks the buffer busy.
void upload_staging(void* device, size_t bytes, const char* what) {
    PinnedStaging& s = staging();
    if (s.copied == nullptr) check(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming), what);
    check(cudaMemcpyAsync(device, s.ptr, bytes, cudaMemcpyHostToDevice, current_stream()), what);
    check(cudaEventRecord(s.copied, current_stream()), what);
    s.copy_queued = true;
}

}  // namespace

void launch_adam_update(DType t, const AdamStepDesc& d, void* param, const void* grad, void* exp_avg,
                        void* exp_avg_sq, void* max_exp_avg_sq, int64_t n) {
    if (n <= 0) return;
    dispatch_float(t, "cuda adam_update", [&](auto tag) {
        using T = decltype(tag);
        const StepScalars<T> s = scalars_of<T>(d);
        T* p = static_cast<T*>(param);
        const T* g = static_cast<const T*>(grad);
        T* m = static_cast<T*>(exp_avg);
        T* v = static_cast<T*>(exp_avg_sq);
        T* vmax = static_cast<T*>(max_exp_avg_sq);
        dispatch_decay(d.decay, [&](auto decay) {
            constexpr AdamDecay D = decltype(decay)::value;
            if (vmax != nullptr)
                adam_update_kernel<T, true, D><<<grid_for(n), kThreads, 0, current_stream()>>>(s, p, g, m, v, vmax, n);
            else
                adam_update_kernel<T, false, D><<<grid_for(n), kThreads, 0, current_stream()>>>(s, p, g, m, v, vmax, n);
        });
    });
    check_launch("cuda adam_update");
}

void launch_adam_update_multi(DType t, const AdamStepDesc& d, const AdamTensorList& list) {
    const char* what = "cuda adam_update_multi";
    // The table holds the non-empty tensors only: starts then strictly increases.
    int64_t count = 0, total = 0;
    for (int64_t k = 0; k < list.count; ++k)
        if (list.numels[k] > 0) {
            ++count;
            total += list.numels[k];
        }
    if (count == 0) return;

    const size_t starts_bytes = size_t(count + 1) * sizeof(int64_t);
    const size_t table_bytes = starts_bytes + size_t(count) * sizeof(TensorPointers);
    auto* host = static_cast<unsigned char*>(staging_buffer(table_bytes, what));
    auto* starts = reinterpret_cast<int64_t*>(host);
    auto* tensors = reinterpret_cast<TensorPointers*>(host + starts_bytes);
    int64_t row = 0, start = 0;
    for (int64_t k = 0; k < list.count; ++k) {
        if (list.numels[k] <= 0) continue;
        starts[row] = start;
        tensors[row] = {list.params[k], list.grads[k], list.exp_avg[k], list.exp_avg_sq[k],
                        list.max_exp_avg_sq != nullptr ? list.max_exp_avg_sq[k] : nullptr};
        start += list.numels[k];
        ++row;
    }
    starts[count] = total;

    auto* device = static_cast<unsigned char*>(workspace(Workspace::Optim, table_bytes, what));
    upload_staging(device, table_bytes, what);
    const auto* device_starts = reinterpret_cast<const int64_t*>(device);
    const auto* device_tensors = reinterpret_cast<const TensorPointers*>(device + starts_bytes);
    dispatch_float(t, what, [&](auto tag) {
        using T = decltype(tag);
        const StepScalars<T> s = scalars_of<T>(d);
        dispatch_decay(d.decay, [&](auto decay) {
            constexpr AdamDecay D = decltype(decay)::value;
            adam_update_multi_kernel<T, D><<<grid_for(total), kThreads, 0, current_stream()>>>(
                s, count, device_starts, device_tensors, total);
        });
    });
    check_launch(what);
}

}  // namespace mg::kernels::cuda
