// The GPU's measured peaks, the bars `minigen bench --device cuda` holds kernels to:
//
//   FP32 FMA     every thread runs 8 independent chains a = a * m + c (one FMA, 2 FLOP,
//                each), so the FMA pipes never wait on a dependency; 8 blocks of 256
//                threads per SM keep every scheduler busy. FLOP = 2 * 8 * iterations per
//                thread. The result is kept live by a store the compiler cannot prove dead.
//   copy         cudaMemcpyAsync device to device over 256 MiB buffers; bytes read + written.
// Each is the best of a few runs timed with CUDA events.
#include <algorithm>

#include "kernels/cuda/common.cuh"
// Declared in kernels/device.h (which nvcc cannot include: it pulls in fmt).

namespace mg::kernels::cuda {

namespace {

constexpr int kChains = 8;
constexpr int kIterations = 4096;

__global__ void __launch_bounds__(256) fma_loop_kernel(float* sink, float seed) {
    float a[kChains];
#pragma unroll
    for (int k = 0; k < kChains; ++k) a[k] = seed + float(threadIdx.x + k);
    const float m = 0.9999f, c = 1e-4f;
    for (int i = 0; i < kIterations; ++i) {
#pragma unroll
        for (int k = 0; k < kChains; ++k) a[k] = fmaf(a[k], m, c);
    }
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < kChains; ++k) s += a[k];
    if (s == seed) sink[global_thread()] = s;  // never true for the seeds used: keeps the loop live
}

// Milliseconds of the fastest of `runs` calls of f, timed with events on the current stream.
template <class F>
float best_ms(int runs, F&& f, const char* what) {
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), what);
    check(cudaEventCreate(&stop), what);
    float best = 1e30f;
    for (int r = 0; r < runs; ++r) {
        check(cudaEventRecord(start, current_stream()), what);
        f();
        check(cudaEventRecord(stop, current_stream()), what);
        check(cudaEventSynchronize(stop), what);
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start, stop), what);
        best = std::min(best, ms);
    }
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
    return best;
}

}  // namespace

double measure_fma_gflops() {
    const char* what = "bench: FMA peak";
    const int threads = 256;
    const int blocks = multiprocessor_count() * 8;
    float* sink = static_cast<float*>(workspace(Workspace::Reduce, size_t(blocks) * threads * sizeof(float), what));
    auto launch = [&] {
        fma_loop_kernel<<<blocks, threads, 0, current_stream()>>>(sink, 0.5f);
        check_launch(what);
    };
    launch();  // warm-up: clocks up, code loaded
    const float ms = best_ms(5, launch, what);
    const double flop = 2.0 * kChains * kIterations * double(blocks) * threads;
    return flop / (double(ms) * 1e-3) * 1e-9;
}

double measure_copy_gbps() {
    const char* what = "bench: copy bandwidth";
    const size_t bytes = size_t(256) << 20;
    void *a = nullptr, *b = nullptr;
    check(cudaMalloc(&a, bytes), what);
    if (cudaMalloc(&b, bytes) != cudaSuccess) {
        (void)cudaFree(a);
        check(cudaErrorMemoryAllocation, what);
    }
    check(cudaMemsetAsync(a, 0, bytes, current_stream()), what);
    auto copy = [&] { check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, current_stream()), what); };
    copy();
    const float ms = best_ms(10, copy, what);
    (void)cudaFree(a);
    (void)cudaFree(b);
    return 2.0 * double(bytes) / (double(ms) * 1e-3) * 1e-9;
}

}  // namespace mg::kernels::cuda
