// A small SIMT emulation of CUDA's execution model, so that the kernel files of
// kernels/cuda/ run on a machine without a GPU (tests/simt explains the whole scheme).
//
// One std::thread per CUDA thread; the blocks of a grid run one after another, so a
// kernel's `__shared__` arrays can be plain statics (shared by the block's threads, reused
// by the next block). __syncthreads is a barrier over the block's threads, __shfl_xor_sync
// a barrier over the warp's 32 lanes around an exchange of values. A thread that returns
// drops out of both barriers, as an exited thread does on the GPU. Atomics are std::atomic_ref.
// What it cannot show: timing, memory coalescing, and races that the barriers happen to hide.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    dim3() = default;
    dim3(unsigned a, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

namespace simt_detail {

struct Block {
    std::unique_ptr<std::barrier<>> all;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<std::array<unsigned char, 32 * 16>> lanes;  // one 16-byte slot per lane, per warp
};
inline Block* g_block = nullptr;

inline unsigned linear_thread() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

}  // namespace simt_detail

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))

struct alignas(16) float4 {
    float x, y, z, w;
};

inline void __syncthreads() { simt_detail::g_block->all->arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) {
    simt_detail::g_block->warps[simt_detail::linear_thread() / 32]->arrive_and_wait();
}

template <class T>
T __shfl_xor_sync(unsigned, T value, int lane_mask, int = 32) {
    static_assert(sizeof(T) <= 16);
    using namespace simt_detail;
    const unsigned t = linear_thread(), warp = t / 32, lane = t % 32;
    auto& slots = g_block->lanes[warp];
    std::memcpy(slots.data() + 16 * lane, &value, sizeof(T));
    g_block->warps[warp]->arrive_and_wait();
    T other;
    std::memcpy(&other, slots.data() + 16 * (lane ^ unsigned(lane_mask)), sizeof(T));
    g_block->warps[warp]->arrive_and_wait();  // nobody overwrites a slot before all have read
    return other;
}

template <class T>
T atomicAdd(T* address, T value) {
    return std::atomic_ref<T>(*address).fetch_add(value);
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

// kernel<<<grid, block, shared, stream>>>(args...) is rewritten to
// simt_launch(kernel, grid, block, shared, stream, args...). Launches run to completion in
// order (one stream); the kernels' static shared memory is their __shared__ statics.
template <class... Params, class Stream, class... Args>
void simt_launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t /*shared*/, Stream /*stream*/,
                 Args&&... args) {
    using namespace simt_detail;
    const unsigned threads = block.x * block.y * block.z;
    if (threads == 0 || grid.x * grid.y * grid.z == 0) return;
    gridDim = grid;
    blockDim = block;
    const std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);  // as the GPU copies them
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                Block b;
                b.all = std::make_unique<std::barrier<>>(threads);
                for (unsigned w = 0; w < (threads + 31) / 32; ++w)
                    b.warps.push_back(std::make_unique<std::barrier<>>(std::min(32u, threads - 32 * w)));
                b.lanes.resize(b.warps.size());
                g_block = &b;
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned t = 0; t < threads; ++t)
                    pool.emplace_back([&, t] {
                        blockIdx = dim3(bx, by, bz);
                        threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
                        std::apply(kernel, params);
                        b.warps[t / 32]->arrive_and_drop();
                        b.all->arrive_and_drop();
                    });
                for (std::thread& th : pool) th.join();
                g_block = nullptr;
            }
}
