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
void free_device(void* ptr);
void* malloc_pinned(size_t bytes, const char* what);
void free_pinned(void* ptr);
void copy_host_to_device(void* dst, const void* src, size_t bytes, const char* what);
void copy_device_to_host(void* dst, const void* src, size_t bytes, const char* what);
void copy_device_to_device(void* dst, const void* src, size_t bytes, const char* what);
void synchronize(const char* what);

}  // namespace mg::kernels::cuda
