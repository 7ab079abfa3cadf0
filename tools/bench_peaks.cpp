// The machine's measured peaks, the yardsticks of `minigen bench`:
//   FMA throughput: independent chains of vector FMAs (AVX-512 or AVX2, whichever the
//     CPU has), enough chains to cover the FMA latency on every FMA port; one thread
//     and `threads` threads. flop = 2 per lane per FMA.
//   VNNI int8 and BF16 throughput (where the CPU has them): the same chains with vpdpbusd
//     (128 int ops per instruction) and vdpbf16ps (64 flop), for the reduced-precision kernels.
//   Memory bandwidth: streaming loops over arrays far larger than the caches: read
//     (a sum), copy b = a, and triad a = b + s*c (copy and triad with plain and with
//     non-temporal stores; the faster counts). Bytes counted are those the loop names (reads + writes), as STREAM
//     counts them.
// Each figure is the best of several runs: a peak is what the machine can do.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "kernels/base.h"
#include "kernels/cpu/cpu_features.h"
#include "tools/bench.h"

namespace mg::tools::bench {

namespace {

constexpr int kChains = 16;  // > latency (4) x FMA ports (2) on current x86 cores

__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iters) {
    __m512 acc[kChains];
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(float(j));
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);  // stays finite, no denormals
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
        for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, a);
    }
    __m512 s = acc[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
    float lanes[16];
    _mm512_storeu_ps(lanes, s);
    return lanes[0] + lanes[15];  // any lane keeps the loop alive
}

// AVX2 has 16 vector registers: 12 chains + the 2 constants fit without spills.
constexpr int kChainsAvx2 = 12;

__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iters) {
    __m256 acc[kChainsAvx2];
    for (int j = 0; j < kChainsAvx2; ++j) acc[j] = _mm256_set1_ps(float(j));
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
        for (int j = 0; j < kChainsAvx2; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, a);
    }
    __m256 s = acc[0];
    for (int j = 1; j < kChainsAvx2; ++j) s = _mm256_add_ps(s, acc[j]);
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    float t = 0;
    for (float v : lanes) t += v;
    return t;
}

float fma_chains_scalar(int64_t iters) {
    float acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = float(j);
    for (int64_t i = 0; i < iters; ++i)
        for (float& v : acc) v = v * 0.999999f + 1e-6f;
    float t = 0;
    for (float v : acc) t += v;
    return t;
}

// The reduced-precision peaks: the same chains with vpdpbusd (64 u8 x s8 multiply-adds per
// zmm instruction, 128 int ops) and vdpbf16ps (32 bf16 multiply-adds, 64 flop).
__attribute__((target("avx512f,avx512vnni"))) float vnni_chains(int64_t iters) {
    __m512i acc[kChains];
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_epi32(j);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);  // wraps harmlessly
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
        for (int j = 0; j < kChains; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
    }
    __m512i s = acc[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_epi32(s, acc[j]);
    int32_t lanes[16];  // a store, not _mm512_reduce_add_epi32 (GCC 12 warns on its inlined extract)
    _mm512_storeu_si512(lanes, s);
    return float(lanes[0] + lanes[15]);  // any lane keeps the loop alive
}

__attribute__((target("avx512f,avx512bf16"))) float bf16_chains(int64_t iters) {
    __m512 acc[kChains];
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(float(j));
    // 1e-6 * 1e-6 per product pair: the sums stay finite and normal.
    const __m512i small = _mm512_set1_epi16(0x3586);  // bf16 1.0e-6
    for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
        for (int j = 0; j < kChains; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], (__m512bh)small, (__m512bh)small);
    }
    __m512 s = acc[0];
    for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
    float lanes[16];
    _mm512_storeu_ps(lanes, s);
    return lanes[0] + lanes[15];
}

struct FmaLoop {
    const char* isa;
    float (*fn)(int64_t);
    double flop_per_iter;
};

FmaLoop pick_fma_loop() {
    if (kernels::cpu::has_avx512()) return {"avx512", &fma_chains_avx512, 2.0 * 16 * kChains};
    if (kernels::cpu::has_avx2_fma()) return {"avx2", &fma_chains_avx2, 2.0 * 8 * kChainsAvx2};
    return {"scalar", &fma_chains_scalar, 2.0 * 8};
}

volatile float g_sink;  // keeps the loops' results alive

// Iterations that make one run of the loop last about 40 ms.
int64_t calibrated_iters(const FmaLoop& loop) {
    int64_t iters = 1 << 14;
    for (;;) {
        double t0 = now_seconds();
        g_sink = loop.fn(iters);
        if (now_seconds() - t0 > 0.01 || iters > (int64_t(1) << 34)) break;
        iters *= 4;
    }
    return iters * 4;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// cpu_time (1 thread): the thread's CPU time, as `bench --cpu-time` times the kernels.
double fma_gflops(const FmaLoop& loop, int threads, int64_t iters, bool cpu_time) {
    const auto clock = cpu_time && threads == 1 ? &thread_cpu_seconds : &now_seconds;
    double best = 0;
    for (int rep = 0; rep < 12; ++rep) {  // short runs, many: the best catches a quiet moment
        double t0 = clock();
        if (threads == 1) {
            float r = loop.fn(iters);
            if (r == 12345.f) g_sink = r;
        } else {
#pragma omp parallel num_threads(threads)
            {
                float r = loop.fn(iters);
                if (r == 12345.f) g_sink = r;
            }
        }
        double dt = clock() - t0;
        best = std::max(best, loop.flop_per_iter * double(iters) * threads / dt * 1e-9);
    }
    return best;
}

// ---- bandwidth -------------------------------------------------------------------------------

// Thread t's share of n floats, cut at 64-float boundaries (aligned for streaming stores).
std::pair<int64_t, int64_t> share(int64_t n, int t, int threads) {
    const int64_t blocks = n / 64;
    return {blocks * t / threads * 64, blocks * (t + 1) / threads * 64};
}

__attribute__((target("avx2"))) float read_avx2(const float* a, int64_t lo, int64_t hi) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = lo; i < hi; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(a + i + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return lanes[0] + lanes[7];
}

__attribute__((target("avx2"))) void copy_avx2(float* b, const float* a, int64_t lo, int64_t hi, bool streaming) {
    if (streaming)
        for (int64_t i = lo; i < hi; i += 8) _mm256_stream_ps(b + i, _mm256_load_ps(a + i));
    else
        for (int64_t i = lo; i < hi; i += 8) _mm256_store_ps(b + i, _mm256_load_ps(a + i));
    _mm_sfence();
}

__attribute__((target("avx2,fma"))) void triad_avx2(float* a, const float* b, const float* c, float s, int64_t lo,
                                                    int64_t hi, bool streaming) {
    const __m256 vs = _mm256_set1_ps(s);
    if (streaming)
        for (int64_t i = lo; i < hi; i += 8)
            _mm256_stream_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
    else
        for (int64_t i = lo; i < hi; i += 8)
            _mm256_store_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
    _mm_sfence();
}

float read_plain(const float* a, int64_t lo, int64_t hi) {
    float s = 0;
    for (int64_t i = lo; i < hi; ++i) s += a[i];
    return s;
}
void copy_plain(float* b, const float* a, int64_t lo, int64_t hi, bool) {
    std::memcpy(b + lo, a + lo, size_t(hi - lo) * sizeof(float));
}
void triad_plain(float* a, const float* b, const float* c, float s, int64_t lo, int64_t hi, bool) {
    for (int64_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
}

struct Arrays {
    explicit Arrays(int64_t n_) : n(n_), a(alloc(n)), b(alloc(n)), c(alloc(n)) {}
    static float* alloc(int64_t n) {
        auto* p = static_cast<float*>(std::aligned_alloc(64, size_t(n) * sizeof(float)));
        MG_CHECK(p != nullptr, "bench: cannot allocate {} MiB for the bandwidth test", n * 4 >> 20);
        return p;
    }
    ~Arrays() {
        std::free(a);
        std::free(b);
        std::free(c);
    }
    int64_t n;
    float *a, *b, *c;
};

// Best GB/s of `body(t, threads)` run on every thread, moving `bytes` per run.
template <class Body>
double best_gbps(int threads, double bytes, Body body) {
    double best = 0;
    for (int rep = 0; rep < 10; ++rep) {
        double t0 = now_seconds();
#pragma omp parallel num_threads(threads)
        body(omp_get_thread_num(), omp_get_num_threads());
        best = std::max(best, bytes / (now_seconds() - t0) * 1e-9);
    }
    return best;
}

}  // namespace

Peaks measure_peaks(int threads, bool cpu_time) {
    Peaks p;
    p.threads = threads;
    const FmaLoop loop = pick_fma_loop();
    p.isa = loop.isa;
    const int64_t iters = calibrated_iters(loop);
    p.fma_gflops_1 = fma_gflops(loop, 1, iters, cpu_time);
    p.fma_gflops_all = threads == 1 ? p.fma_gflops_1 : fma_gflops(loop, threads, iters, false);
    // The reduced-precision peaks, where the CPU has the instructions (kernels/lowp.h).
    const kernels::cpu::LowpFeatures& lowp = kernels::cpu::lowp_features();
    auto lowp_peak = [&](const FmaLoop& l, double& one, double& all) {
        const int64_t n = calibrated_iters(l);
        one = fma_gflops(l, 1, n, cpu_time);
        all = threads == 1 ? one : fma_gflops(l, threads, n, false);
    };
    if (lowp.avx512_vnni) lowp_peak({"avx512_vnni", &vnni_chains, 128.0 * kChains}, p.vnni_gops_1, p.vnni_gops_all);
    if (lowp.avx512_bf16) lowp_peak({"avx512_bf16", &bf16_chains, 64.0 * kChains}, p.bf16_gflops_1, p.bf16_gflops_all);

    const bool avx2 = kernels::cpu::has_avx2_fma();
    const int64_t n = int64_t(32) << 20;  // 32 Mi floats = 128 MiB per array
    p.bandwidth_bytes = n * 4;
    Arrays arr(n);
#pragma omp parallel num_threads(threads)
    {
        // First touch by the thread that will stream the pages.
        auto [lo, hi] = share(n, omp_get_thread_num(), omp_get_num_threads());
        for (int64_t i = lo; i < hi; ++i) arr.a[i] = 1.0f, arr.b[i] = 2.0f, arr.c[i] = 0.5f;
    }
    const double fb = double(n) * sizeof(float);
    p.read_gbps = best_gbps(threads, fb, [&](int t, int nt) {
        auto [lo, hi] = share(n, t, nt);
        float s = avx2 ? read_avx2(arr.a, lo, hi) : read_plain(arr.a, lo, hi);
        if (s == 12345.f) g_sink = s;
    });
    for (bool streaming : {false, true}) {
        p.copy_gbps = std::max(p.copy_gbps, best_gbps(threads, 2 * fb, [&](int t, int nt) {
            auto [lo, hi] = share(n, t, nt);
            if (avx2) copy_avx2(arr.b, arr.a, lo, hi, streaming);
            else copy_plain(arr.b, arr.a, lo, hi, streaming);
        }));
        p.triad_gbps = std::max(p.triad_gbps, best_gbps(threads, 3 * fb, [&](int t, int nt) {
            auto [lo, hi] = share(n, t, nt);
            if (avx2) triad_avx2(arr.a, arr.b, arr.c, 0.5f, lo, hi, streaming);
            else triad_plain(arr.a, arr.b, arr.c, 0.5f, lo, hi, streaming);
        }));
    }
    return p;
}

}  // namespace mg::tools::bench
