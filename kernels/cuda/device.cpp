// The device runtime of a CUDA build (kernels/device.h) and the shared helpers of
// kernels/cuda/runtime.h. A machine without a GPU or driver answers "not available"
// with the CUDA error that said so; nothing here aborts.
#ifdef MINIGEN_WITH_CUDA
#include <algorithm>
#include <array>
#include <cstring>
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

void* try_malloc_device(size_t bytes, const char* what) {
    if (bytes == 0) return nullptr;
    require_device(what);
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, bytes);
    if (err == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        return nullptr;
    }
    MG_CHECK(err == cudaSuccess, "{}: cudaMalloc of {} bytes failed: {}: {}", what, bytes, cudaGetErrorName(err),
             cudaGetErrorString(err));
    return ptr;
}

void* malloc_device(size_t bytes, const char* what) {
    void* ptr = try_malloc_device(bytes, what);
    MG_CHECK(ptr != nullptr || bytes == 0, "{}: cudaMalloc of {} bytes failed: out of device memory", what, bytes);
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

// ---- host <-> device copies through pinned staging ------------------------------------
//
// The DMA engine reads and writes only pinned (page-locked) host memory. A copy from
// ordinary memory is staged through pinned buffers either way; doing it here, with two
// buffers per host thread, lets the CPU fill one chunk while the DMA engine drains the
// other, and lets a host-to-device copy return as soon as its last chunk is queued: the
// source has been copied out, and the kernels that read the destination are queued behind
// the copy on the same stream. The data loader's worker thread uploads each batch this
// way, so the training thread receives batches already on the GPU.
namespace {

constexpr size_t kStagingChunk = size_t(4) << 20;

struct Staging {
    void* buffer[2] = {nullptr, nullptr};
    cudaEvent_t drained[2] = {nullptr, nullptr};  // the last copy out of / into buffer[k] is done
    bool pending[2] = {false, false};

    ~Staging() {  // thread exit; errors ignored: at process exit the context may be gone
        for (int k = 0; k < 2; ++k) {
            if (pending[k]) (void)cudaEventSynchronize(drained[k]);
            if (drained[k] != nullptr) (void)cudaEventDestroy(drained[k]);
            free_pinned(buffer[k]);
        }
        (void)cudaGetLastError();
    }
    // Buffer k, ready to be overwritten: allocated on first use, its last copy finished.
    void* ready(int k, const char* what) {
        if (buffer[k] == nullptr) {
            buffer[k] = malloc_pinned(kStagingChunk, what);
            check(cudaEventCreateWithFlags(&drained[k], cudaEventDisableTiming), what);
        }
        if (pending[k]) check(cudaEventSynchronize(drained[k]), what);
        pending[k] = false;
        return buffer[k];
    }
    void queued(int k, const char* what) {
        check(cudaEventRecord(drained[k], current_stream()), what);
        pending[k] = true;
    }
};

Staging& staging() {
    thread_local Staging s;
    return s;
}

}  // namespace

void copy_host_to_device(void* dst, const void* src, size_t bytes, const char* what) {
    if (bytes == 0) return;
    require_device(what);
    Staging& s = staging();
    for (size_t off = 0, chunk = 0; off < bytes; off += kStagingChunk, ++chunk) {
        const int k = int(chunk % 2);
        const size_t n = std::min(kStagingChunk, bytes - off);
        void* pinned = s.ready(k, what);
        std::memcpy(pinned, static_cast<const char*>(src) + off, n);
        check(cudaMemcpyAsync(static_cast<char*>(dst) + off, pinned, n, cudaMemcpyHostToDevice, current_stream()),
              what);
        s.queued(k, what);
    }
}

// Waits for the data, chunk by chunk: the caller reads dst as soon as this returns.
void copy_device_to_host(void* dst, const void* src, size_t bytes, const char* what) {
    if (bytes == 0) return;
    require_device(what);
    Staging& s = staging();
    auto drain = [&](int k, size_t off) {  // the chunk at off, staged in buffer k, into dst
        check(cudaEventSynchronize(s.drained[k]), what);
        s.pending[k] = false;
        std::memcpy(static_cast<char*>(dst) + off, s.buffer[k], std::min(kStagingChunk, bytes - off));
    };
    size_t chunk = 0;
    for (size_t off = 0; off < bytes; off += kStagingChunk, ++chunk) {
        const int k = int(chunk % 2);
        void* pinned = s.ready(k, what);
        check(cudaMemcpyAsync(pinned, static_cast<const char*>(src) + off, std::min(kStagingChunk, bytes - off),
                              cudaMemcpyDeviceToHost, current_stream()),
              what);
        s.queued(k, what);
        if (chunk > 0) drain(int((chunk - 1) % 2), off - kStagingChunk);
    }
    drain(int((chunk - 1) % 2), (chunk - 1) * kStagingChunk);
}

void copy_device_to_device(void* dst, const void* src, size_t bytes, const char* what) {
    if (bytes == 0) return;
    require_device(what);
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current_stream()), what);
}

void synchronize(const char* what) {
    if (!available()) return;
    check(cudaDeviceSynchronize(), what);
}

void memory_info(size_t& free_bytes, size_t& total_bytes) {
    free_bytes = total_bytes = 0;
    require_device("memory_info");
    check(cudaMemGetInfo(&free_bytes, &total_bytes), "memory_info: cudaMemGetInfo");
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
