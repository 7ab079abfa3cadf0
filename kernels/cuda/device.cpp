// The device runtime of a CUDA build (kernels/device.h) and the shared helpers of
// kernels/cuda/runtime.h. A machine without a GPU or driver answers "not available"
// with the CUDA error that said so; nothing here aborts.
#ifdef MINIGEN_WITH_CUDA
#include <array>
#include <mutex>

#include <cuda_runtime_api.h>

#include "kernels/cuda/runtime.h"
#include "kernels/device.h"

namespace mg::kernels::cuda {

namespace {

struct Probe {
    int count = 0;
    std::string reason;  // "" when a device is usable
};

const Probe& probe() {
    static Probe result;
    static std::once_flag once;
    std::call_once(once, [] {
        try {
            int count = 0;
            cudaError_t err = cudaGetDeviceCount(&count);
            if (err != cudaSuccess) {
                result.reason = fmt::format("no usable CUDA device: cudaGetDeviceCount failed: {}: {}",
                                            cudaGetErrorName(err), cudaGetErrorString(err));
                (void)cudaGetLastError();  // do not leave the error for the next call to find
            } else if (count <= 0) {
                result.reason = "no CUDA device found (cudaGetDeviceCount returned 0)";
            } else {
                result.count = count;
            }
        } catch (...) {
            result.count = 0;
            result.reason = "no usable CUDA device: probing the CUDA runtime failed";
        }
    });
    return result;
}

void require_device(const char* what) {
    const Probe& p = probe();
    if (p.count == 0) MG_FAIL("{}: {}", what, p.reason);
}

}  // namespace

// ---- kernels/device.h ------------------------------------------------------------

bool built_with_cuda() { return true; }
bool available() { return probe().count > 0; }
std::string unavailable_reason() { return probe().reason; }
int device_count() { return probe().count; }

std::string device_name(int device) {
    if (device < 0 || device >= device_count()) return "";
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
        (void)cudaGetLastError();
        return "";
    }
    return prop.name;
}

void* malloc_device(size_t bytes, const char* what) {
    if (bytes == 0) return nullptr;
    require_device(what);
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, bytes);
    MG_CHECK(err == cudaSuccess, "{}: cudaMalloc of {} bytes failed: {}: {}", what, bytes, cudaGetErrorName(err),
             cudaGetErrorString(err));
    return ptr;
}

// Called from destructors, so it must not throw. A failing cudaFree here means the CUDA
// context is already gone (process exit), and then the memory is gone with it.
void free_device(void* ptr) {
    if (ptr != nullptr && cudaFree(ptr) != cudaSuccess) (void)cudaGetLastError();
}

void* malloc_pinned(size_t bytes, const char* what) {
    if (bytes == 0) return nullptr;
    require_device(what);
    void* ptr = nullptr;
    cudaError_t err = cudaMallocHost(&ptr, bytes);
    MG_CHECK(err == cudaSuccess, "{}: cudaMallocHost of {} bytes failed: {}: {}", what, bytes,
             cudaGetErrorName(err), cudaGetErrorString(err));
    return ptr;
}

void free_pinned(void* ptr) {
    if (ptr != nullptr && cudaFreeHost(ptr) != cudaSuccess) (void)cudaGetLastError();
}

// Copies that touch host memory wait for the stream: the caller may reuse or read the
// host buffer as soon as the call returns.
static void copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, bool wait, const char* what) {
    if (bytes == 0) return;
    require_device(what);
    check(cudaMemcpyAsync(dst, src, bytes, kind, current_stream()), what);
    if (wait) check(cudaStreamSynchronize(current_stream()), what);
}

void copy_host_to_device(void* dst, const void* src, size_t bytes, const char* what) {
    copy(dst, src, bytes, cudaMemcpyHostToDevice, true, what);
}
void copy_device_to_host(void* dst, const void* src, size_t bytes, const char* what) {
    copy(dst, src, bytes, cudaMemcpyDeviceToHost, true, what);
}
void copy_device_to_device(void* dst, const void* src, size_t bytes, const char* what) {
    copy(dst, src, bytes, cudaMemcpyDeviceToDevice, false, what);
}

void synchronize(const char* what) {
    if (!available()) return;
    check(cudaDeviceSynchronize(), what);
}

// ---- kernels/cuda/runtime.h ------------------------------------------------------

cudaStream_t current_stream() { return nullptr; }  // the legacy default stream

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) [[unlikely]] {
        (void)cudaGetLastError();  // clear a non-sticky error so the next op starts clean
        MG_FAIL("{}: {}: {}", what, cudaGetErrorName(err), cudaGetErrorString(err));
    }
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

void fail(const char* what, const char* why) { MG_FAIL("{}: {}", what, why); }

int multiprocessor_count() {
    static int count = [] {
        int device = 0, sms = 0;
        if (cudaGetDevice(&device) != cudaSuccess ||
            cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || sms <= 0) {
            (void)cudaGetLastError();
            return 1;
        }
        return sms;
    }();
    return count;
}

namespace {
// Never freed: a thread's scratch lives as long as the thread, and freeing device
// memory during process teardown can outlive the CUDA context.
struct Scratch {
    void* ptr = nullptr;
    size_t bytes = 0;
};
}  // namespace

void* workspace(Workspace slot, size_t bytes, const char* what) {
    thread_local std::array<Scratch, size_t(Workspace::Count)> scratch{};
    Scratch& s = scratch[size_t(slot)];
    if (bytes <= s.bytes) return s.ptr;
    if (s.ptr != nullptr) {
        // Kernels queued earlier may still read the old buffer.
        check(cudaStreamSynchronize(current_stream()), what);
        free_device(s.ptr);
        s = {};
    }
    size_t rounded = (bytes + (size_t(1) << 20) - 1) & ~((size_t(1) << 20) - 1);  // whole MiB: fewer regrowths
    s.ptr = malloc_device(rounded, what);
    s.bytes = rounded;
    return s.ptr;
}

}  // namespace mg::kernels::cuda
#endif  // MINIGEN_WITH_CUDA
