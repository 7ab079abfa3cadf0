// Timings of the CUDA variants on the workload shapes of docs/workloads.md. Skipped by
// default; run it with
//   build/tests/gpu/minigen_gpu_tests --no-skip --test-case='bench*'
// It prints one line per (op, shape, variant): time per call and TFLOP/s (GEMM), GFLOP/s
// (conv) or GB/s. Each variant is checked by the tests, not here. The GEMM shapes end at
// 4096^3, where our best FP32 kernel meets cuBLAS FP32 and our tensor-core kernels meet
// cuBLAS's at the same precision (wmma_tf32 vs cublas_tf32, wmma_bf16 vs cublas_bf16).
#include <chrono>
#include <cstdio>

#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/reduce.h"
#include "tests/gpu/gpu_check.h"

namespace mg::kernels::gpu_test {
namespace {

// Seconds per call: one warm-up call, then batches of calls (4x larger each time) until
// a batch takes 0.2 s; the device is synchronized around each batch.
template <class F>
double seconds_per_call(F&& call) {
    call();
    cuda::synchronize("bench warm-up");
    for (int64_t reps = 1;; reps *= 4) {
        const auto start = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < reps; ++i) call();
        cuda::synchronize("bench");
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (elapsed >= 0.2 || reps >= (int64_t(1) << 16)) return elapsed / double(reps);
    }
}

// The rate is amount / seconds * 1e-9: pass flops for GFLOP/s, flops * 1e-3 for TFLOP/s.
void report(const char* op, const std::string& shape, const std::string& variant, double seconds, double amount,
            const char* unit, int decimals = 1) {
    std::printf("%-24s %-28s %-18s %10.3f ms %10.*f %s\n", op, shape.c_str(), variant.c_str(), seconds * 1e3,
                decimals, amount / seconds * 1e-9, unit);
}

void bench_gemm() {
    struct Shape {
        int64_t m, n, k;
    };
    const std::vector<Shape> shapes = {{256, 256, 256},  {512, 512, 512},  {1024, 1024, 1024}, {2048, 2048, 2048},
                                       {4096, 4096, 4096}, {64, 6272, 100}, {64, 1, 6272},     {128, 400, 784}};
    for (const Shape& s : shapes) {
        GemmArgs g;
        g.m = s.m, g.n = s.n, g.k = s.k;
        g.lda = s.k, g.ldb = s.n, g.ldc = s.n;
        DeviceBuffer a(random_values<float>(size_t(s.m * s.k), -1, 1));
        DeviceBuffer b(random_values<float>(size_t(s.k * s.n), -1, 1));
        DeviceBuffer c(size_t(s.m * s.n) * sizeof(float));
        const std::string shape = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
        for (const std::string& v : cuda_variants(gemm_table(), DType::Float32)) {
            GemmFn* fn = gemm_table().get(v, Device::CUDA, DType::Float32);
            const double t = seconds_per_call([&] { fn(g, a.get(), b.get(), c.get()); });
            report("sgemm", shape, v, t, 2.0 * double(s.m) * double(s.n) * double(s.k) * 1e-3, "TFLOP/s", 3);
        }
    }
}

void bench_conv() {
    // conv2d N=64, 64->128 channels, 14x14 -> 7x7, k=4, s=2, p=1
    Conv2dShape s;
    s.n = 64, s.c_in = 64, s.h = s.w = 14, s.c_out = 128, s.kh = s.kw = 4;
    s.stride_h = s.stride_w = 2, s.pad_h = s.pad_w = 1, s.oh = s.ow = 7;
    DeviceBuffer x(random_values<float>(size_t(s.n * s.c_in * s.h * s.w), -1, 1));
    DeviceBuffer w(random_values<float>(size_t(s.c_out * s.c_in * s.kh * s.kw), -1, 1));
    DeviceBuffer y(random_values<float>(size_t(s.n * s.c_out * s.oh * s.ow), -1, 1));
    const double flops = 2.0 * double(s.n * s.c_out * s.oh * s.ow) * double(s.c_in * s.kh * s.kw);
    const std::string shape = "64x64x14x14 -> 128, k4 s2 p1";
    for (const std::string& v : cuda_variants(conv2d_forward_table(), DType::Float32)) {
        auto* fn = conv2d_forward_table().get(v, Device::CUDA, DType::Float32);
        report("conv2d_forward", shape, v, seconds_per_call([&] { fn(s, x.get(), w.get(), y.get()); }), flops,
               "GFLOP/s");
    }
    for (const std::string& v : cuda_variants(conv2d_backward_input_table(), DType::Float32)) {
        auto* fn = conv2d_backward_input_table().get(v, Device::CUDA, DType::Float32);
        report("conv2d_backward_input", shape, v, seconds_per_call([&] { fn(s, y.get(), w.get(), x.get()); }), flops,
               "GFLOP/s");
    }
    for (const std::string& v : cuda_variants(conv2d_backward_weight_table(), DType::Float32)) {
        auto* fn = conv2d_backward_weight_table().get(v, Device::CUDA, DType::Float32);
        report("conv2d_backward_weight", shape, v, seconds_per_call([&] { fn(s, x.get(), y.get(), w.get()); }), flops,
               "GFLOP/s");
    }
}

void bench_bandwidth() {
    const int64_t n = int64_t(1) << 24;  // 16M float32
    DeviceBuffer a(random_values<float>(size_t(n), -1, 1)), b(random_values<float>(size_t(n), -1, 1));
    DeviceBuffer out(size_t(n) * sizeof(float));
    Iter it;
    it.ndim = 1, it.numel = n, it.contiguous = true, it.sizes[0] = n;
    for (int o = 0; o < 3; ++o) it.strides[o][0] = 1;
    for (const std::string& v : cuda_variants(add_table(), DType::Float32)) {
        BinaryFn* fn = add_table().get(v, Device::CUDA, DType::Float32);
        report("add", "16M float32", v, seconds_per_call([&] { fn(it, out.get(), a.get(), b.get()); }),
               3.0 * double(n) * sizeof(float), "GB/s");
    }
    ReduceArgs r;
    r.out_ndim = 0, r.out_numel = 1;
    r.red_ndim = 1, r.red_numel = n, r.red_sizes[0] = n, r.red_strides[0] = 1;
    for (const std::string& v : cuda_variants(sum_table(), DType::Float32)) {
        if (v == "thread_per_output") continue;  // one thread over 16M elements: seconds, and not its job
        ReduceFn* fn = sum_table().get(v, Device::CUDA, DType::Float32);
        report("sum", "16M float32 -> 1", v, seconds_per_call([&] { fn(r, out.get(), a.get()); }),
               double(n) * sizeof(float), "GB/s");
    }
}

TEST_CASE("bench: CUDA variants on the workload shapes" * doctest::skip()) {
    init();
    std::printf("%-24s %-28s %-18s %13s %15s\n", "op", "shape", "variant", "time", "rate");
    bench_gemm();
    bench_conv();
    bench_bandwidth();
}

}  // namespace
}  // namespace mg::kernels::gpu_test
