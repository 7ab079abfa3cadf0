// The per-element code of the index kernels (index.cu), host and device: see
// device_math.cuh for why.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_math.cuh"

namespace mg::kernels::cuda {

// Row j of the side without indices (a gather's y, a scatter's g) <-> row map(j) of x, the
// indexed side: take_along / put_along pair y or g [r, k] with flat x element r*C + idx[r, k]
// (rows of width 1); index_select / index_add pair row k with x row idx[k]. `count` when
// the index is out of range.
struct IndexMap {
    const int64_t* idx;
    int64_t bound;        // an index must lie in [0, bound)
    int64_t per_row;      // put_along: K (sources per x row); index_add: 0
    int64_t row_width;    // put_along: C; index_add: unused
    int64_t count;        // destinations in all: R*C or V
    MG_HOST_DEVICE int64_t operator()(int64_t j) const {
        const int64_t c = idx[j];
        if (c < 0 || c >= bound) return count;
        return per_row > 0 ? (j / per_row) * row_width + c : c;
    }
};

// y [rows, width]: row j = x row map(j), zeros for an index out of range.
template <class T>
MG_HOST_DEVICE void gather_at(const IndexMap& map, int64_t width, const T* x, T* y, int64_t i) {
    const int64_t row = map(i / width);
    y[i] = row < map.count ? x[row * width + i % width] : T(0);
}

// The sorted scatter, after a stable sort of the destination keys (positions = source
// rows, ascending within one key):
// first[v] = the first sorted position whose key is >= v (a binary search), v in [0, count].
MG_HOST_DEVICE void segment_start_at(const uint64_t* sorted_keys, int64_t sources, int64_t* first, int64_t v) {
    int64_t lo = 0, hi = sources;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (sorted_keys[mid] < uint64_t(v)) lo = mid + 1;
        else hi = mid;
    }
    first[v] = lo;
}

// x element i of [count, width]: its sources summed in ascending source order.
template <class T>
MG_HOST_DEVICE void segment_sum_at(int64_t width, const int64_t* first, const uint64_t* sorted_pos, const T* g, T* x,
                                   int64_t i) {
    const int64_t v = i / width, e = i % width;
    T acc = T(0);
    for (int64_t s = first[v]; s < first[v + 1]; ++s) acc += g[int64_t(sorted_pos[s]) * width + e];
    x[i] = acc;
}

}  // namespace mg::kernels::cuda
