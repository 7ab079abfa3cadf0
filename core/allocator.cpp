#include "core/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "kernels/device.h"
#include "kernels/profile.h"

namespace mg {

size_t allocation_size_class(size_t bytes) {
    if (bytes == 0) return 64;
    if (bytes <= 4096) return (bytes + 63) / 64 * 64;
    size_t pow2 = size_t(1) << (63 - __builtin_clzll(bytes));  // largest power of two <= bytes
    size_t step = pow2 / 4;
    return (bytes + step - 1) / step * step;
}

namespace {

// Free lists per size class over a raw allocate/free pair.
class CachingAllocator final : public Allocator {
public:
    using RawAlloc = void* (*)(size_t);
    using RawFree = void (*)(void*);
    CachingAllocator(const char* device, RawAlloc raw_alloc, RawFree raw_free)
        : device_(device), raw_alloc_(raw_alloc), raw_free_(raw_free) {}
    ~CachingAllocator() override {
        // Deliberately keep cached blocks at exit: tensors in static objects may still
        // be destroyed after this allocator, and the OS reclaims everything anyway.
    }

    void* allocate(size_t bytes) override {
        kernels::profile::Scope profiled(kernels::profile::Region::Allocator);
        size_t size = allocation_size_class(bytes);
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.allocations;
        auto it = free_.find(size);
        void* p = nullptr;
        if (it != free_.end() && !it->second.empty()) {
            p = it->second.back();
            it->second.pop_back();
            ++stats_.cache_hits;
            stats_.bytes_cached -= int64_t(size);
        } else {
            p = raw_alloc_(size);
            if (!p) {  // out of memory: drop the cache once and retry
                release_cached_locked();
                p = raw_alloc_(size);
            }
            MG_CHECK(p != nullptr, "{} allocator: out of memory allocating {} bytes ({} bytes in use, peak {})",
                     device_, size, stats_.bytes_in_use, stats_.peak_bytes_in_use);
        }
        stats_.bytes_in_use += int64_t(size);
        stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
        return p;
    }

    void deallocate(void* ptr, size_t bytes) override {
        if (!ptr) return;
        kernels::profile::Scope profiled(kernels::profile::Region::Allocator);
        size_t size = allocation_size_class(bytes);
        std::lock_guard<std::mutex> lock(mutex_);
        free_[size].push_back(ptr);
        stats_.bytes_in_use -= int64_t(size);
        stats_.bytes_cached += int64_t(size);
    }

    AllocatorStats stats() const override {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_;
    }

    void empty_cache() override {
        std::lock_guard<std::mutex> lock(mutex_);
        release_cached_locked();
    }

    void reset_peak() override {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
    }

private:
    void release_cached_locked() {
        for (auto& [size, blocks] : free_)
            for (void* p : blocks) raw_free_(p);
        free_.clear();
        stats_.bytes_cached = 0;
    }

    const char* device_;
    RawAlloc raw_alloc_;
    RawFree raw_free_;
    mutable std::mutex mutex_;
    std::map<size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

void* cpu_raw_alloc(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }
void cpu_raw_free(void* p) { std::free(p); }
void* cuda_raw_alloc(size_t bytes) { return kernels::cuda::try_malloc_device(bytes, "cuda allocator"); }
void cuda_raw_free(void* p) { kernels::cuda::free_device(p); }

}  // namespace

Allocator& allocator_for(Device device) {
    // Leaked on purpose: storages may be released during static destruction.
    static CachingAllocator* cpu = new CachingAllocator("cpu", cpu_raw_alloc, cpu_raw_free);
    static CachingAllocator* cuda = new CachingAllocator("cuda", cuda_raw_alloc, cuda_raw_free);
    return device == Device::CPU ? *cpu : *cuda;
}

}  // namespace mg
