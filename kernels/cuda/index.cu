// Index kernels (kernels/index.h) on the GPU.
//   take_along, index_select: one thread per output element, a plain gather.
//   put_along, index_add: scatters that add, where many sources may hit one destination.
//     "sorted": stable radix sort of the destinations (CUB), then one thread per output
//               element sums its sources in ascending source order: the CPU reference's
//               order, so results match it bit for bit and never vary run to run.
//     "atomic": zero the output, then atomicAdd per source element. Faster, but the order
//               of the adds to one destination (and so the float rounding) is not fixed.
// An index outside its range is skipped (take/select write 0): never an out-of-bounds
// access. The op layer checks indices; reporting from here would need a sync.
#include <cub/device/device_radix_sort.cuh>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/index_ops.cuh"

namespace mg::kernels::cuda {

namespace {

template <class T>
__global__ void take_along_kernel(int64_t rows, int64_t cols, int64_t k, const T* x, const int64_t* idx, T* y) {
    for (int64_t i = global_thread(); i < rows * k; i += grid_threads()) take_along_at(cols, k, x, idx, y, i);
}

template <class T>
__global__ void index_select_kernel(int64_t v, int64_t d, const T* x, const int64_t* idx, T* y, int64_t total) {
    for (int64_t i = global_thread(); i < total; i += grid_threads()) index_select_at(v, d, x, idx, y, i);
}

__global__ void destination_keys_kernel(Destinations dest, int64_t sources, uint64_t* keys, uint64_t* positions) {
    for (int64_t j = global_thread(); j < sources; j += grid_threads()) {
        keys[j] = uint64_t(dest(j));
        positions[j] = uint64_t(j);
    }
}

__global__ void segment_starts_kernel(const uint64_t* sorted_keys, int64_t sources, int64_t count, int64_t* first) {
    for (int64_t v = global_thread(); v <= count; v += grid_threads()) segment_start_at(sorted_keys, sources, first, v);
}

template <class T>
__global__ void segment_sum_kernel(int64_t count, int64_t width, const int64_t* first, const uint64_t* sorted_pos,
                                   const T* g, T* x) {
    for (int64_t i = global_thread(); i < count * width; i += grid_threads())
        segment_sum_at(width, first, sorted_pos, g, x, i);
}

template <class T>
__device__ __forceinline__ void atomic_add(T* p, T v) {
    if constexpr (std::is_same_v<T, int64_t>)
        atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
    else
        atomicAdd(p, v);
}

template <class T>
__global__ void scatter_atomic_kernel(Destinations dest, int64_t sources, int64_t width, const T* g, T* x) {
    for (int64_t i = global_thread(); i < sources * width; i += grid_threads()) {
        const int64_t v = dest(i / width);
        if (v < dest.count) atomic_add(&x[v * width + i % width], g[i]);
    }
}

size_t align_up(size_t bytes) { return (bytes + 255) & ~size_t(255); }

// x [count, width] = sum of g [sources, width] rows sent to each destination.
template <class T>
void scatter_add(const char* what, ScatterMethod method, const Destinations& dest, int64_t sources, int64_t width,
                 const T* g, T* x) {
    const int64_t count = dest.count;
    if (count <= 0 || width <= 0) return;
    cudaStream_t stream = current_stream();
    if (sources <= 0 || method == ScatterMethod::Atomic) {
        check(cudaMemsetAsync(x, 0, size_t(count * width) * sizeof(T), stream), what);
        if (sources > 0)
            scatter_atomic_kernel<T><<<grid_for(sources * width), kThreads, 0, stream>>>(dest, sources, width, g, x);
        check_launch(what);
        return;
    }
    if (sources > int64_t(INT32_MAX)) fail(what, "more than 2^31-1 indices for the sorted scatter");
    // Only the bits that destination keys (at most `count`) use take part in the sort.
    int end_bit = 1;
    while (end_bit < 64 && (uint64_t(count) >> end_bit) != 0) ++end_bit;

    const size_t key_bytes = align_up(size_t(sources) * sizeof(uint64_t));
    const size_t first_bytes = align_up(size_t(count + 1) * sizeof(int64_t));
    size_t sort_bytes = 0;
    check(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, static_cast<const uint64_t*>(nullptr),
                                          static_cast<uint64_t*>(nullptr), static_cast<const uint64_t*>(nullptr),
                                          static_cast<uint64_t*>(nullptr), int(sources), 0, end_bit, stream),
          what);
    char* base =
        static_cast<char*>(workspace(Workspace::Index, 4 * key_bytes + first_bytes + align_up(sort_bytes), what));
    auto* keys = reinterpret_cast<uint64_t*>(base);
    auto* sorted_keys = reinterpret_cast<uint64_t*>(base + key_bytes);
    auto* positions = reinterpret_cast<uint64_t*>(base + 2 * key_bytes);
    auto* sorted_pos = reinterpret_cast<uint64_t*>(base + 3 * key_bytes);
    auto* first = reinterpret_cast<int64_t*>(base + 4 * key_bytes);
    void* sort_temp = base + 4 * key_bytes + first_bytes;

    destination_keys_kernel<<<grid_for(sources), kThreads, 0, stream>>>(dest, sources, keys, positions);
    check_launch(what);
    // Radix sort is stable: equal destinations keep ascending source order.
    check(cub::DeviceRadixSort::SortPairs(sort_temp, sort_bytes, keys, sorted_keys, positions, sorted_pos,
                                          int(sources), 0, end_bit, stream),
          what);
    segment_starts_kernel<<<grid_for(count + 1), kThreads, 0, stream>>>(sorted_keys, sources, count, first);
    check_launch(what);
    segment_sum_kernel<T><<<grid_for(count * width), kThreads, 0, stream>>>(count, width, first, sorted_pos, g, x);
    check_launch(what);
}

template <class F>
void dispatch_index(ScalarType t, const char* what, F&& f) {
    switch (t) {
        case ScalarType::Float32: f(float{}); return;
        case ScalarType::Float64: f(double{}); return;
        case ScalarType::Int64: f(int64_t{}); return;
        default: fail(what, "only float32, float64 and int64 are supported");
    }
}

}  // namespace

void launch_take_along(ScalarType t, int64_t rows, int64_t cols, int64_t k, const void* x, const int64_t* idx,
                       void* y) {
    if (rows <= 0 || k <= 0) return;
    dispatch_index(t, "cuda take_along", [&](auto tag) {
        using T = decltype(tag);
        take_along_kernel<T><<<grid_for(rows * k), kThreads, 0, current_stream()>>>(
            rows, cols, k, static_cast<const T*>(x), idx, static_cast<T*>(y));
    });
    check_launch("cuda take_along");
}

void launch_put_along(ScalarType t, ScatterMethod method, int64_t rows, int64_t cols, int64_t k, const void* g,
                      const int64_t* idx, void* x) {
    if (rows <= 0 || cols <= 0) return;
    dispatch_index(t, "cuda put_along", [&](auto tag) {
        using T = decltype(tag);
        Destinations dest{idx, cols, k, cols, rows * cols};
        scatter_add("cuda put_along", method, dest, rows * k, 1, static_cast<const T*>(g), static_cast<T*>(x));
    });
}

void launch_index_select(ScalarType t, int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx, void* y) {
    if (k <= 0 || d <= 0) return;
    dispatch_index(t, "cuda index_select", [&](auto tag) {
        using T = decltype(tag);
        index_select_kernel<T><<<grid_for(k * d), kThreads, 0, current_stream()>>>(
            v, d, static_cast<const T*>(x), idx, static_cast<T*>(y), k * d);
    });
    check_launch("cuda index_select");
}

void launch_index_add(ScalarType t, ScatterMethod method, int64_t v, int64_t d, int64_t k, const void* g,
                      const int64_t* idx, void* x) {
    if (v <= 0 || d <= 0) return;
    dispatch_index(t, "cuda index_add", [&](auto tag) {
        using T = decltype(tag);
        Destinations dest{idx, v, 0, 0, v};
        scatter_add("cuda index_add", method, dest, k, d, static_cast<const T*>(g), static_cast<T*>(x));
    });
}

}  // namespace mg::kernels::cuda
