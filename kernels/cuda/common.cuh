// Device-side helpers shared by the .cu files: launch geometry, dtype dispatch and warp
// reductions (typed math is in device_math.cuh). nvcc only.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include <cuda_runtime.h>

#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/runtime.h"

namespace mg::kernels::cuda {

constexpr int kThreads = 256;  // threads per block of the elementwise-style kernels

// Blocks for a grid-stride loop over `work` items: enough to fill the GPU a few times
// over, never more than the work needs (and within the 2^31-1 grid limit).
inline unsigned grid_for(int64_t work, int threads = kThreads) {
    int64_t needed = (work + threads - 1) / threads;
    int64_t cap = int64_t(multiprocessor_count()) * 32;
    int64_t blocks = needed < cap ? needed : cap;
    return unsigned(blocks < 1 ? 1 : blocks);
}

__device__ __forceinline__ int64_t global_thread() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_threads() { return int64_t(gridDim.x) * blockDim.x; }

// Calls f(T{}) with the C++ type of a float dtype; other dtypes fail naming `what`.
template <class F>
void dispatch_float(DType t, const char* what, F&& f) {
    switch (t) {
        case DType::Float32: f(float{}); return;
        case DType::Float64: f(double{}); return;
        default: fail(what, "only float32 and float64 are supported");
    }
}

// Calls f(T{}) for any dtype.
template <class F>
void dispatch_any(DType t, F&& f) {
    switch (t) {
        case DType::Float32: f(float{}); return;
        case DType::Float64: f(double{}); return;
        case DType::Int64: f(int64_t{}); return;
        case DType::UInt8: f(uint8_t{}); return;
    }
}

// ---- warp reductions (full warp, fixed butterfly order: deterministic) --------------
template <class T, class Combine>
__device__ __forceinline__ T warp_reduce(T v, Combine combine) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

}  // namespace mg::kernels::cuda
