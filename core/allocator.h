// Caching allocators, one per device.
//
// Training allocates the same activation sizes every step. Returning freed
// blocks to a per-size free list (sizes rounded up to a size class) makes the
// next step's allocations free of system calls and page faults. CPU blocks are
// 64-byte aligned, so any SIMD width can load them aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/base.h"

namespace mg {

struct AllocatorStats {
    int64_t allocations = 0;     // requests served
    int64_t cache_hits = 0;      // requests served from the free lists
    int64_t bytes_in_use = 0;    // handed out and not yet returned
    int64_t bytes_cached = 0;    // held in free lists
    int64_t peak_bytes_in_use = 0;
};

class Allocator {
public:
    virtual ~Allocator() = default;
    virtual void* allocate(size_t bytes) = 0;
    virtual void deallocate(void* ptr, size_t bytes) = 0;
    virtual AllocatorStats stats() const = 0;
    virtual void empty_cache() = 0;  // give cached blocks back to the system
    // peak_bytes_in_use = bytes_in_use, so that the peak of the work that follows can be read.
    virtual void reset_peak() = 0;
};

Allocator& allocator_for(Device device);

// The size class a request of `bytes` is rounded up to: multiples of 64 bytes
// below 4 KiB, then four classes per power of two (at most 25% waste).
size_t allocation_size_class(size_t bytes);

}  // namespace mg
