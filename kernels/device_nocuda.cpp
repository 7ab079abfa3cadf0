// The device runtime of a build without CUDA: no GPU, ever, and a clear reason.
#ifndef MINIGEN_WITH_CUDA
#include "kernels/device.h"

namespace mg::kernels::cuda {

static constexpr const char* kReason = "minigen was built without CUDA (configure with -DMINIGEN_CUDA=ON)";

bool built_with_cuda() { return false; }
bool available() { return false; }
std::string unavailable_reason() { return kReason; }
int device_count() { return 0; }
std::string device_name(int) { return ""; }
void* malloc_device(size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void* try_malloc_device(size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void free_device(void*) {}
void* malloc_pinned(size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void free_pinned(void*) {}
void copy_host_to_device(void*, const void*, size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void copy_device_to_host(void*, const void*, size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void copy_device_to_device(void*, const void*, size_t, const char* what) { MG_FAIL("{}: {}", what, kReason); }
void synchronize(const char*) {}
double measure_fma_gflops() { return 0.0; }
double measure_copy_gbps() { return 0.0; }
void memory_info(size_t& free_bytes, size_t& total_bytes) { free_bytes = total_bytes = 0; }

}  // namespace mg::kernels::cuda
#endif
