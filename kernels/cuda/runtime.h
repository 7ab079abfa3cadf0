// What every CUDA kernel file shares: the stream, error checks, the device's size and
// scratch memory. Plain C++ over the CUDA runtime API, so both nvcc (.cu) and g++
// (.cpp) include it; device.cpp implements it. No fmt here (see launch.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

namespace mg::kernels::cuda {

// The stream every kernel, copy, cuBLAS and cuDNN call runs on. The legacy default
// stream for now; routing every call through here lets streams come later.
cudaStream_t current_stream();

// Throws mg::Error "<what>: <cudaErrorName>: <description>" unless err is cudaSuccess.
void check(cudaError_t err, const char* what);
// After a <<<...>>> launch: a bad configuration shows up here (execution errors show up
// at the next synchronizing call).
void check_launch(const char* what);
// Throws mg::Error "<what>: <why>".
[[noreturn]] void fail(const char* what, const char* why);

// Streaming multiprocessors of the current device (cached): sizes grid-stride launches.
int multiprocessor_count();

// Grow-only scratch buffers, one per use and per host thread, so that one kernel's
// scratch never aliases another's inside one op (an im2col convolution holds the Conv
// buffer while its gemm runs; a masked convolution holds its masked weight in MaskedConv
// while the convolution inside it uses Conv). Valid until the next call with the same slot.
enum class Workspace : uint8_t { Reduce, Index, Conv, MaskedConv, Softmax, Optim, Count };
void* workspace(Workspace slot, size_t bytes, const char* what);

// A library handle (cuBLAS, cuDNN): one per host thread, created on first use and bound to
// current_stream() on every call. Never destroyed: destroying a handle during process
// teardown can outlive the driver. `check(status, what)` throws unless status is success.
template <class Handle, class Status, class Check>
Handle thread_handle(Status (*create)(Handle*), Status (*set_stream)(Handle, cudaStream_t), Check check,
                     const char* create_what, const char* set_stream_what) {
    thread_local Handle handle = [&] {
        Handle h = nullptr;
        check(create(&h), create_what);
        return h;
    }();
    check(set_stream(handle, current_stream()), set_stream_what);
    return handle;
}

}  // namespace mg::kernels::cuda
