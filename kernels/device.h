// The device runtime seen from above: is there a GPU, and raw memory on it.
// A build without CUDA, or a machine without a GPU or driver, answers "no GPU"
// with the reason, and everything runs on the CPU.
#pragma once

#include <cstddef>
#include <string>

#include "kernels/base.h"

namespace mg::kernels::cuda {

bool built_with_cuda();
// True when the build has CUDA and a usable device is present. Never throws.
bool available();
// Why CUDA is not available ("built without CUDA", "no CUDA driver: ..."), or "".
std::string unavailable_reason();
int device_count();
std::string device_name(int device);

// Raw device memory and copies. Each throws mg::Error naming `what` on failure.
void* malloc_device(size_t bytes, const char* what);
// The same, but nullptr when the device is out of memory (the caching allocator then
// frees its cached blocks and tries again).
void* try_malloc_device(size_t bytes, const char* what);
void free_device(void* ptr);
void* malloc_pinned(size_t bytes, const char* what);
void free_pinned(void* ptr);
void copy_host_to_device(void* dst, const void* src, size_t bytes, const char* what);
void copy_device_to_host(void* dst, const void* src, size_t bytes, const char* what);
void copy_device_to_device(void* dst, const void* src, size_t bytes, const char* what);
void synchronize(const char* what);
// The current device's measured peaks (kernels/cuda/peak.cu): float32 FMA throughput and
// device-to-device copy bandwidth (bytes read + written). 0 without a GPU.
double measure_fma_gflops();
double measure_copy_gbps();
// The current device's free and total memory (cudaMemGetInfo).
void memory_info(size_t& free_bytes, size_t& total_bytes);

}  // namespace mg::kernels::cuda
