// Index kernels, "reference": plain loops; OpenMP over rows for large sizes.
//   take_along   x [R, C], idx [R, K] -> y [R, K]    y[r,k] = x[r, idx[r,k]]
//   put_along    g [R, K], idx [R, K] -> x [R, C]    x = 0; x[r, idx[r,k]] += g[r,k]
//   index_select x [V, D], idx [K]    -> y [K, D]    y[k,:] = x[idx[k], :]
//   index_add    g [K, D], idx [K]    -> x [V, D]    x = 0; x[idx[k], :] += g[k,:]
// put_along only writes inside its own row, so rows split across threads freely.
// index_add sends many k to one destination row: each thread owns a block of
// destination rows and scans every k in order, so each row sums its contributions in
// k order whatever the thread count (bitwise the same result with 1 or 64 threads).
// The op layer checks the indices; the kernels check them again so that a bad index
// throws instead of touching memory out of bounds.
#include <omp.h>

#include <algorithm>

#include "kernels/index.h"

namespace mg::kernels {

namespace {

// Below this many elements moved a thread team costs more than the loop.
constexpr int64_t kParallelMinElements = int64_t(1) << 15;

void check_sizes(std::string_view op, int64_t a, int64_t b, int64_t k) {
    MG_CHECK(a >= 0 && b >= 0 && k >= 0, "{}: negative size ({}, {}, {})", op, a, b, k);
}

// index_select / index_add: the sizes (V, D, K), then the K row indices, each in [0, V).
void check_row_indices(std::string_view op, int64_t v, int64_t d, int64_t k, const int64_t* idx) {
    check_sizes(op, v, d, k);
    int64_t bad = 0;
    for (int64_t i = 0; i < k; ++i) bad += (idx[i] < 0 || idx[i] >= v) ? 1 : 0;
    MG_CHECK(bad == 0, "{}: {} indices outside [0, {})", op, bad, v);
}

// take_along / put_along over x [R, C], idx [R, K]: start(r), then each(r, j, c, ok) for the
// K indices c = idx[r*K + j] of every row r, ok when c lies in [0, C); rows split across
// threads when rows * work is large. Throws afterwards if any index was outside [0, C).
template <class Start, class Each>
void for_each_row_index(std::string_view op, int64_t rows, int64_t cols, int64_t k, const int64_t* idx, int64_t work,
                        Start&& start, Each&& each) {
    check_sizes(op, rows, cols, k);
    int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (rows * work >= kParallelMinElements)
    for (int64_t r = 0; r < rows; ++r) {
        start(r);
        for (int64_t j = 0; j < k; ++j) {
            const int64_t c = idx[r * k + j];
            const bool ok = c >= 0 && c < cols;
            bad += ok ? 0 : 1;
            each(r, j, c, ok);
        }
    }
    MG_CHECK(bad == 0, "{}: {} indices outside [0, {})", op, bad, cols);
}

// y [R, K] = x [R, C] gathered along each row
template <class T>
void take_along_reference(int64_t rows, int64_t cols, int64_t k, const void* xv, const int64_t* idx, void* yv) {
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
    for_each_row_index("take_along", rows, cols, k, idx, k, [](int64_t) {},
                       [&](int64_t r, int64_t j, int64_t c, bool ok) { y[r * k + j] = ok ? x[r * cols + c] : T(0); });
}

// x [R, C] = 0, then g [R, K] scattered (accumulating) along each row
template <class T>
void put_along_reference(int64_t rows, int64_t cols, int64_t k, const void* gv, const int64_t* idx, void* xv) {
    const T* g = static_cast<const T*>(gv);
    T* x = static_cast<T*>(xv);
    const auto zero_row = [&](int64_t r) { std::fill(x + r * cols, x + (r + 1) * cols, T(0)); };
    for_each_row_index("put_along", rows, cols, k, idx, std::max(k, cols), zero_row,
                       [&](int64_t r, int64_t j, int64_t c, bool ok) {
                           if (ok) x[r * cols + c] += g[r * k + j];
                       });
}

// y [K, D] = rows idx of x [V, D]
template <class T>
void index_select_reference(int64_t v, int64_t d, int64_t k, const void* xv, const int64_t* idx, void* yv) {
    check_row_indices("index_select", v, d, k, idx);
    const T* x = static_cast<const T*>(xv);
    T* y = static_cast<T*>(yv);
#pragma omp parallel for schedule(static) if (k * d >= kParallelMinElements)
    for (int64_t j = 0; j < k; ++j) std::copy(x + idx[j] * d, x + (idx[j] + 1) * d, y + j * d);
}

// x [V, D] = 0, then x[idx[j], :] += g[j, :] for j = 0, 1, ... in order
template <class T>
void index_add_reference(int64_t v, int64_t d, int64_t k, const void* gv, const int64_t* idx, void* xv) {
    check_row_indices("index_add", v, d, k, idx);
    const T* g = static_cast<const T*>(gv);
    T* x = static_cast<T*>(xv);
    const bool parallel = v > 1 && std::max(k, v) * d >= kParallelMinElements;
#pragma omp parallel if (parallel)
    {
        // This thread's destination rows [first, end).
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t first = v * t / nt, end = v * (t + 1) / nt;
        std::fill(x + first * d, x + end * d, T(0));
        for (int64_t j = 0; j < k; ++j) {
            const int64_t row = idx[j];
            if (row < first || row >= end) continue;
            T* dst = x + row * d;
            const T* src = g + j * d;
            for (int64_t e = 0; e < d; ++e) dst[e] += src[e];
        }
    }
}

template <class T>
void register_index_dtype() {
    constexpr DType t = dtype_of<T>::value;
    take_along_table().add("reference", Device::CPU, t, &take_along_reference<T>, 0,
                           "gather along each row; threads over rows");
    put_along_table().add("reference", Device::CPU, t, &put_along_reference<T>, 0,
                          "scatter-add along each row; threads over rows (row-local, deterministic)");
    index_select_table().add("reference", Device::CPU, t, &index_select_reference<T>, 0,
                             "row copies; threads over selected rows");
    index_add_table().add("reference", Device::CPU, t, &index_add_reference<T>, 0,
                          "row adds in index order; threads own destination rows (deterministic)");
}

}  // namespace

void register_cpu_index() {
    register_index_dtype<float>();
    register_index_dtype<double>();
    register_index_dtype<int64_t>();
}

}  // namespace mg::kernels
