// CPU kernels of PixelRNN (kernels/lstm.h): the fused LSTM cell, skew and unskew.
//
//   lstm_cell "reference": serial rows; each unit computed in double with libm (ew::LstmCell on
//                          doubles), rounded once to the dtype. The ground truth.
//   lstm_cell "omp":       the same formulas in the tensor's dtype, rows across OpenMP threads
//                          above kLstmParallelMin units (for CPUs without AVX2; float64's fast path).
//   lstm_cell "avx2", "avx512": kernels/cpu/lstm_simd.h, float32 (registered when the CPU has them).
//   skew / unskew "reference": one row copy at a time, serial; "omp": rows across threads.
#include <cstring>

#include "kernels/cpu/isa_kernels.h"
#include "kernels/lstm.h"

namespace mg::kernels {

namespace {

constexpr int64_t kLstmParallelMin = 1 << 14;  // units (or copied elements) before a second thread pays

// The cell on rows [0, n), computing in Acc (double for the reference, T for omp).
template <class T, class Acc, bool Parallel>
void cell_forward(const LstmCellShape& s, const void* gates, const void* c_prev, void* out) {
    const LstmCellForwardOperands<T> a(s, gates, c_prev, out);
    const int64_t H = s.hidden;
#pragma omp parallel for schedule(static) if (Parallel && s.n * H >= kLstmParallelMin)
    for (int64_t r = 0; r < s.n; ++r) {
        const T* g = a.gates + r * 4 * H;
        for (int64_t j = 0; j < H; ++j) {
            Acc h, c;
            ew::LstmCell::forward<Acc>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], a.c_prev[r * H + j], h, c);
            a.h[r * H + j] = T(h);
            a.c[r * H + j] = T(c);
        }
    }
}

template <class T, class Acc, bool Parallel>
void cell_backward(const LstmCellShape& s, const void* gates, const void* c_prev, const void* grad_out,
                   void* grad_gates, void* grad_c_prev) {
    const LstmCellBackwardOperands<T> a(s, gates, c_prev, grad_out, grad_gates, grad_c_prev);
    const int64_t H = s.hidden;
#pragma omp parallel for schedule(static) if (Parallel && s.n * H >= kLstmParallelMin)
    for (int64_t r = 0; r < s.n; ++r) {
        const T* g = a.gates + r * 4 * H;
        T* dg = a.grad_gates + r * 4 * H;
        for (int64_t j = 0; j < H; ++j) {
            const int64_t u = r * H + j;
            Acc d[4], d_c_prev;
            ew::LstmCell::backward<Acc>(g[j], g[H + j], g[2 * H + j], g[3 * H + j], a.c_prev[u], a.grad_h[u],
                                        a.grad_c[u], d, d_c_prev);
            for (int k = 0; k < 4; ++k) dg[k * H + j] = T(d[k]);
            a.grad_c_prev[u] = T(d_c_prev);
        }
    }
}

// Row i of every plane: the unskewed row x[p, i, 0:w] is the skewed row y[p, i, i:i+w]; the
// skewed row's other h - 1 entries are zero (skew writes them; unskew never reads them).
template <class T, bool Parallel> void skew_rows(const SkewShape& s, const void* in, void* out) {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const int64_t ws = s.skewed_w();
#pragma omp parallel for schedule(static) if (Parallel && s.planes * s.h * ws >= kLstmParallelMin)
    for (int64_t r = 0; r < s.planes * s.h; ++r) {
        const int64_t i = r % s.h;
        T* row = y + r * ws;
        std::memset(row, 0, size_t(i) * sizeof(T));
        std::memcpy(row + i, x + r * s.w, size_t(s.w) * sizeof(T));
        std::memset(row + i + s.w, 0, size_t(s.h - 1 - i) * sizeof(T));
    }
}

template <class T, bool Parallel> void unskew_rows(const SkewShape& s, const void* in, void* out) {
    const T* y = static_cast<const T*>(in);
    T* x = static_cast<T*>(out);
    const int64_t ws = s.skewed_w();
#pragma omp parallel for schedule(static) if (Parallel && s.planes * s.h * s.w >= kLstmParallelMin)
    for (int64_t r = 0; r < s.planes * s.h; ++r)
        std::memcpy(x + r * s.w, y + r * ws + r % s.h, size_t(s.w) * sizeof(T));
}

template <class T> void add_portable(DType dt) {
    constexpr auto kCpu = Device::CPU;
    lstm_cell_forward_table().add("reference", kCpu, dt, &cell_forward<T, double, false>, 0,
                                  "serial rows, each unit in double with libm");
    lstm_cell_forward_table().add("omp", kCpu, dt, &cell_forward<T, T, true>, 10,
                                  "the dtype's libm, rows across OpenMP threads");
    lstm_cell_backward_table().add("reference", kCpu, dt, &cell_backward<T, double, false>, 0,
                                   "serial rows, each unit in double with libm");
    lstm_cell_backward_table().add("omp", kCpu, dt, &cell_backward<T, T, true>, 10,
                                   "the dtype's libm, rows across OpenMP threads");
    skew_table().add("reference", kCpu, dt, &skew_rows<T, false>, 0, "one row copy at a time");
    skew_table().add("omp", kCpu, dt, &skew_rows<T, true>, 10, "row copies across OpenMP threads");
    unskew_table().add("reference", kCpu, dt, &unskew_rows<T, false>, 0, "one row copy at a time");
    unskew_table().add("omp", kCpu, dt, &unskew_rows<T, true>, 10, "row copies across OpenMP threads");
}

}  // namespace

void register_cpu_lstm() {
    add_portable<float>(DType::Float32);
    add_portable<double>(DType::Float64);
    for (const cpu::IsaKernels* isa : cpu::cpu_isas()) {
        const cpu::IsaDTypeKernels& k = isa->f32;
        if (!k.lstm_cell_forward) continue;
        const std::string doc = fmt::format("{} float lanes along the units, vector exp/tanh, rows across threads",
                                            isa->lanes_f32);
        const int priority = isa->lanes_f32 == 16 ? 20 : 15;
        lstm_cell_forward_table().add(isa->name, Device::CPU, DType::Float32, k.lstm_cell_forward, priority, doc);
        lstm_cell_backward_table().add(isa->name, Device::CPU, DType::Float32, k.lstm_cell_backward, priority, doc);
    }
}

}  // namespace mg::kernels
