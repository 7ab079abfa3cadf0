// thread_scratch_bytes: one growing, 64-byte aligned buffer per thread and slot (scratch.h).
#include "kernels/cpu/scratch.h"

#include <cstdlib>
#include <new>

namespace mg::kernels::cpu {

namespace {

struct Buffer {
    void* p = nullptr;
    int64_t capacity = 0;  // bytes
    ~Buffer() { std::free(p); }
};

}  // namespace

void* thread_scratch_bytes(Scratch slot, int64_t bytes) {
    static thread_local Buffer buffers[int(Scratch::count)];
    Buffer& b = buffers[int(slot)];
    if (bytes > b.capacity) {
        std::free(b.p);
        b.p = nullptr;
        b.capacity = 0;
        const int64_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
        b.p = std::aligned_alloc(64, size_t(rounded));
        if (!b.p) throw std::bad_alloc();
        b.capacity = rounded;
    }
    return b.p;
}

}  // namespace mg::kernels::cpu
