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
__global__ void gather_kernel(IndexMap map, int64_t width, const T* x, T* y, int64_t total) {
    for (int64_t i = global_thread(); i < total; i += grid_threads()) gather_at(map, width, x, y, i);
}

__global__ void destination_keys_kernel(IndexMap dest, int64_t sources, uint64_t* keys, uint64_t* positions) {
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
__global__ void scatter_atomic_kernel(IndexMap dest, int64_t sources, int64_t width, const T* g, T* x) {
    for (int64_t i = global_thread(); i < sources * width; i += grid_threads()) {
        const int64_t v = dest(i / width);
        if (v < dest.count) atomic_add(&x[v * width + i % width], g[i]);
    }
}

size_t align_up(size_t bytes) { return (bytes + 255) & ~size_t(255); }

// x [count, width] = sum of g [sources, width] rows sent to each destination.
template <class T>
void scatter_add(const char* what, ScatterMethod method, const IndexMap& dest, int64_t sources, int64_t width,
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
void dispatch_index(DType t, const char* what, F&& f) {
    switch (t) {
        case DType::Float32: f(float{}); return;
        case DType::Float64: f(double{}); return;
        case DType::Int64: f(int64_t{}); return;
        default: fail(what, "only float32, float64 and int64 are supported");
    }
}

// y [rows, width] = rows map(j) of x.
void gather(const char* what, DType t, const IndexMap& map, int64_t rows, int64_t width, const void* x, void* y) {
    if (rows <= 0 || width <= 0) return;
    dispatch_index(t, what, [&](auto tag) {
        using T = decltype(tag);
        gather_kernel<T><<<grid_for(rows * width), kThreads, 0, current_stream()>>>(
            map, width, static_cast<const T*>(x), static_cast<T*>(y), rows * width);
    });
    check_launch(what);
}

// x [map.count, width] = sum of the g [sources, width] rows sent to each x row.
void scatter(const char* what, DType t, ScatterMethod method, const IndexMap& map, int64_t sources, int64_t width,
             const void* g, void* x) {
    dispatch_index(t, what, [&](auto tag) {
        using T = decltype(tag);
        scatter_add(what, method, map, sources, width, static_cast<const T*>(g), static_cast<T*>(x));
    });
}

// take_along / put_along: x [rows, cols] against idx [rows, k].
IndexMap along_rows(const int64_t* idx, int64_t rows, int64_t cols, int64_t k) {
    return {idx, cols, k, cols, rows * cols};
}
// index_select / index_add: x [v, D] against idx [k].
IndexMap whole_rows(const int64_t* idx, int64_t v) { return {idx, v, 0, 0, v}; }

}  // namespace

void launch_take_along(DType t, int64_t rows, int64_t cols, int64_t k, const void* x, const int64_t* idx, void* y) {
    gather("cuda take_along", t, along_rows(idx, rows, cols, k), rows * k, 1, x, y);
}

void launch_put_along(DType t, ScatterMethod method, int64_t rows, int64_t cols, int64_t k, const void* g,
                      const int64_t* idx, void* x) {
    scatter("cuda put_along", t, method, along_rows(idx, rows, cols, k), rows * k, 1, g, x);
}

void launch_index_select(DType t, int64_t v, int64_t d, int64_t k, const void* x, const int64_t* idx, void* y) {
    gather("cuda index_select", t, whole_rows(idx, v), k, d, x, y);
}

void launch_index_add(DType t, ScatterMethod method, int64_t v, int64_t d, int64_t k, const void* g,
                      const int64_t* idx, void* x) {
    scatter("cuda index_add", t, method, whole_rows(idx, v), k, d, g, x);
}

}  // namespace mg::kernels::cuda
