// A small SIMT emulation of CUDA's execution model, so that the kernel files of
// kernels/cuda/ run on a machine without a GPU (tests/simt explains the whole scheme).
//
// Each CUDA thread of a block is a fiber (ucontext, its own stack) on the calling OS
// thread; the blocks of a grid run one after another, so a kernel's `__shared__` arrays
// can be plain statics (shared by the block's threads, reused by the next block). A fiber
// runs until it reaches a barrier or returns; the scheduler resumes the others in turn.
// __syncthreads is a barrier over the block's threads, __syncwarp and the two halves of
// __shfl_xor_sync barriers over the warp's lanes; a thread that returns drops out of both,
// as an exited thread does on the GPU. One OS thread: atomics are plain read-modify-writes.
// What it cannot show: timing, memory coalescing, and races that the barriers happen to hide.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <tuple>
#include <type_traits>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3() = default;
    dim3(unsigned a, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

inline dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__  // aliasing hints mean nothing here (and GCC keeps them in a pack's function type)
#define __align__(n) __attribute__((aligned(n)))

struct alignas(16) float4 {
    float x, y, z, w;
};

namespace simt_detail {

constexpr size_t kStackBytes = size_t(128) << 10;

// A barrier over a group of fibers (a block, or a warp): `expected` counts the members that
// have not returned; a member arriving waits until the generation moves on.
inline uint64_t g_progress = 0;  // arrivals, releases and returns: a scheduler pass without any is a deadlock

struct Barrier {
    unsigned expected = 0, arrived = 0;
    uint64_t generation = 0;
    void arrive() {
        ++g_progress;
        if (++arrived == expected) arrived = 0, ++generation;
    }
    void drop() {  // a member returned: it no longer holds the others back
        ++g_progress;
        --expected;
        if (expected > 0 && arrived == expected) arrived = 0, ++generation;
    }
};

struct Fiber {
    ucontext_t context;
    char* stack = nullptr;
    dim3 index;
    bool done = false;
};

// Fiber stacks, kept from launch to launch (a 1024-thread block needs 128 MiB of them).
inline char* stack_of(unsigned t) {
    static std::vector<std::unique_ptr<char[]>> stacks;
    while (stacks.size() <= t) stacks.emplace_back(new char[kStackBytes]);
    return stacks[t].get();
}

struct Block {
    std::vector<Fiber> fibers;
    Barrier all;
    std::vector<Barrier> warps;
    std::vector<std::array<unsigned char, 32 * 16>> lanes;  // one 16-byte shuffle slot per lane, per warp
    ucontext_t scheduler;
    unsigned current = 0;
};
inline Block* g_block = nullptr;

inline unsigned linear_thread() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

// Back to the scheduler until `barrier` has moved past the generation this fiber arrived in.
inline void wait_at(Barrier& barrier) {
    const uint64_t generation = barrier.generation;
    barrier.arrive();
    while (barrier.generation == generation) {
        Fiber& self = g_block->fibers[g_block->current];
        swapcontext(&self.context, &g_block->scheduler);
    }
}

}  // namespace simt_detail

inline void __syncthreads() { simt_detail::wait_at(simt_detail::g_block->all); }
inline void __syncwarp(unsigned = 0xffffffffu) {
    simt_detail::wait_at(simt_detail::g_block->warps[simt_detail::linear_thread() / 32]);
}

template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int = 32) {
    static_assert(sizeof(T) <= 16);
    using namespace simt_detail;
    const unsigned t = linear_thread(), warp = t / 32, lane = t % 32;
    auto& slots = g_block->lanes[warp];
    std::memcpy(slots.data() + 16 * lane, &value, sizeof(T));
    wait_at(g_block->warps[warp]);
    T other;
    std::memcpy(&other, slots.data() + 16 * (lane ^ unsigned(lane_mask)), sizeof(T));
    wait_at(g_block->warps[warp]);  // nobody overwrites a slot before all have read
    return other;
}

template <class T>
T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}

// Round-to-nearest arithmetic: the host's IEEE operations are exactly that.
inline float __fadd_rn(float a, float b) { return a + b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }

namespace simt_detail {

// What the fibers of one launch run: the kernel and its parameters, by value as the GPU copies them.
struct Task {
    virtual ~Task() = default;
    virtual void run() = 0;
};
template <class Kernel, class Params>
struct KernelTask final : Task {
    Kernel kernel;
    Params params;
    KernelTask(Kernel k, Params p) : kernel(k), params(std::move(p)) {}
    void run() override { std::apply(kernel, params); }
};
inline Task* g_task = nullptr;

inline void fiber_main() {
    g_task->run();
    Block& b = *g_block;
    Fiber& self = b.fibers[b.current];
    self.done = true;
    b.warps[b.current / 32].drop();
    b.all.drop();
    swapcontext(&self.context, &b.scheduler);  // never resumed
}

inline void run_block(Block& b, dim3 block) {
    const unsigned threads = unsigned(b.fibers.size());
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = b.fibers[t];
        f.done = false;
        f.index = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack;
        f.context.uc_stack.ss_size = kStackBytes;
        f.context.uc_link = nullptr;
        makecontext(&f.context, fiber_main, 0);
    }
    b.all = Barrier{threads};
    for (unsigned w = 0; w < b.warps.size(); ++w) b.warps[w] = Barrier{std::min(32u, threads - 32 * w)};
    for (unsigned remaining = threads; remaining > 0;) {
        remaining = 0;
        const uint64_t progress = g_progress;
        for (unsigned t = 0; t < threads; ++t) {
            Fiber& f = b.fibers[t];
            if (f.done) continue;
            b.current = t;
            threadIdx = f.index;
            swapcontext(&b.scheduler, &f.context);
            remaining += !f.done;
        }
        if (remaining > 0 && g_progress == progress) {
            std::fprintf(stderr, "simt: deadlock in block (%u, %u, %u): %u threads wait at barriers the others never reach\n",
                         blockIdx.x, blockIdx.y, blockIdx.z, remaining);
            std::abort();
        }
    }
}

}  // namespace simt_detail

// kernel<<<grid, block, shared, stream>>>(args...) is rewritten to
// simt_launch(kernel, grid, block, shared, stream, args...). Launches run to completion in
// order (one stream); the kernels' static shared memory is their __shared__ statics.
template <class... Params, class Stream, class... Args>
void simt_launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t /*shared*/, Stream /*stream*/,
                 Args&&... args) {
    using namespace simt_detail;
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || grid.x * grid.y * grid.z == 0) return;
    if (g_block != nullptr) {
        std::fprintf(stderr, "simt: a kernel launched from inside a kernel\n");
        std::abort();
    }
    gridDim = grid;
    blockDim = block;
    KernelTask task(kernel, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...));
    g_task = &task;
    Block b;
    b.fibers.resize(threads);
    for (unsigned t = 0; t < threads; ++t) b.fibers[t].stack = stack_of(t);
    b.warps.resize((threads + 31) / 32);
    b.lanes.resize(b.warps.size());
    g_block = &b;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                blockIdx = dim3(bx, by, bz);
                run_block(b, block);
            }
    g_block = nullptr;
    g_task = nullptr;
}
