// minigen bench --tune: candidates around the derived blocking, timed in interleaved rounds
// (candidate after candidate, round after round, so a burst of load on a shared machine
// lands on all of them alike), scored by the geometric mean over the workloads of each
// candidate's median time relative to the best candidate's.
#include "tools/bench_tune.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "core/io/temp_files.h"
#include "kernels/cpu/cache_info.h"
#include "kernels/cpu/gemm_blocking.h"
#include "tools/bench.h"
#include "tools/bench_kernels.h"

namespace mg::tools::bench {

namespace {

namespace cpu = kernels::cpu;

constexpr double kNoise = 0.02;  // relative score differences below this are not a win

struct Candidate {
    cpu::GemmBlocking sizes;
    std::string label;  // "derived", "previous constants", ""
    std::vector<std::vector<double>> ms;  // [workload][round]
    std::vector<double> median;           // [workload]
    double score = 0;
};

struct Workload {
    std::string label, variant;
    std::unique_ptr<KernelCase> run;
};

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The workloads the blocking serves: sgemm 1024^3 and dcgan's Linear and conv GEMMs (its
// 64x64x14x14->128 conv, whose three faces are also the transposed conv's), or tiny ones.
std::vector<Workload> tune_workloads(bool quick) {
    const std::vector<std::string> wanted =
        quick ? std::vector<std::string>{"sgemm 37x100x129", "conv2d 3x4x9x9->6 k4s2p1 forward"}
              : std::vector<std::string>{"sgemm 1024x1024x1024", "sgemm 64x6272x100",
                                         "conv2d 64x64x14x14->128 k4s2p1 forward",
                                         "conv2d 64x64x14x14->128 k4s2p1 backward_input",
                                         "conv2d 64x64x14x14->128 k4s2p1 backward_weight"};
    std::vector<Workload> out;
    for (const CaseSpec& cs : quick ? tiny_kernel_cases() : workload_kernel_cases(0))
        if (std::find(wanted.begin(), wanted.end(), cs.name + " " + cs.shape) != wanted.end())
            out.push_back({cs.name + " " + cs.shape, active_cpu_f32_variant(cs.op), cs.make()});
    MG_CHECK(out.size() == wanted.size(), "bench --tune: found {} of its {} workloads", out.size(), wanted.size());
    return out;
}

// The derived point, the constants this GEMM used before it read the caches (measured on a
// Zen 5), and kc / mc a step either side of the derived ones.
std::vector<Candidate> tune_candidates(const cpu::GemmBlockingChoice& derived, const cpu::GemmKernelShape& shape,
                                       bool quick) {
    std::vector<Candidate> out;
    auto add = [&](cpu::GemmBlocking b, const std::string& label) {
        b = cpu::fit_gemm_blocking(b, shape);
        for (Candidate& c : out)
            if (c.sizes == b) {
                c.label += (c.label.empty() || label.empty() ? "" : ", ") + label;
                return;
            }
        out.push_back({b, label, {}, {}, 0});
    };
    const cpu::GemmBlocking d = derived.sizes;
    add(d, "derived");
    add({24 * int64_t(shape.mr), 1024 / shape.elem_bytes, 4096}, "previous constants");
    if (quick) {
        add({shape.mr, 17, shape.nr}, "");
        return out;
    }
    auto kc_times = [&](double f) { return std::max<int64_t>(8, int64_t(double(d.kc) * f) / 8 * 8); };
    for (double kf : {0.5, 1.5, 2.0}) add({d.mc, kc_times(kf), d.nc}, "");
    for (double mf : {0.5, 1.5}) add({int64_t(double(d.mc) * mf), d.kc, d.nc}, "");
    add({d.mc / 2, kc_times(2.0), d.nc}, "");
    add({d.mc, d.kc, d.nc * 2}, "");
    return out;
}

}  // namespace

int run_gemm_tune(const TuneOptions& options) {
    const cpu::GemmKernelShapes shapes = cpu::cpu_gemm_kernel_shapes();
    MG_CHECK(shapes.count > 0, "bench --tune: this CPU has neither AVX2 nor AVX-512: its GEMM has no blocking to tune");
    // The widest instruction set's float32 micro-kernel: the one the registry makes active.
    const cpu::GemmKernelShape shape = shapes.shapes[shapes.count - 2];
    const cpu::CacheInfo& caches = cpu::cache_info();
    const cpu::GemmBlockingChoice derived = cpu::derive_gemm_blocking(caches, shape);
    const std::string path = cpu::gemm_tuned_file_path(caches.model);

    std::vector<Workload> workloads = tune_workloads(options.quick);
    std::vector<Candidate> candidates = tune_candidates(derived, shape, options.quick);
    const int rounds = options.quick ? 3 : 7;
    const char* timing_clock = options.threads == 1 ? "CPU time (waits for a core on a busy machine do not count)"
                                                    : "wall-clock time";
    std::printf("tuning the %s float32 GEMM blocking (%dx%d micro-kernel) on %s, %d thread%s, %d rounds\n",
                shape.isa, shape.mr, shape.nr, caches.model.c_str(), options.threads, options.threads == 1 ? "" : "s",
                rounds);
    std::printf("  %s\n  times: the median per call over the rounds, in %s\n", derived.reason.c_str(),
                timing_clock);
    std::fflush(stdout);

    TimingOptions timing;
    timing.samples = 1;
    timing.warmup = 1;  // the first call after a change of blocking resizes the packing buffers
    timing.min_sample_s = options.quick ? 0.0 : 0.02;
    timing.cpu_time = options.threads == 1;
    for (Candidate& c : candidates) c.ms.assign(workloads.size(), {});
    for (int round = 0; round < rounds; ++round) {
        std::fprintf(stderr, "bench --tune: round %d of %d\n", round + 1, rounds);
        for (Candidate& c : candidates) {
            const cpu::ScopedGemmBlocking use(c.sizes);
            for (size_t w = 0; w < workloads.size(); ++w) {
                Workload& wl = workloads[w];
                c.ms[w].push_back(time_calls([&] { wl.run->run(wl.variant); }, timing).median_ms);
            }
        }
    }

    // Scores: geometric mean over the workloads of median / the best candidate's median.
    for (Candidate& c : candidates)
        for (const auto& ms : c.ms) c.median.push_back(median_of(ms));
    for (Candidate& c : candidates) {
        double log_sum = 0;
        for (size_t w = 0; w < workloads.size(); ++w) {
            double best = INFINITY;
            for (const Candidate& o : candidates) best = std::min(best, o.median[w]);
            log_sum += std::log(c.median[w] / best);
        }
        c.score = std::exp(log_sum / double(workloads.size()));
    }
    // The derived point stays unless a candidate beats it by more than the noise of these
    // medians (about 2% between identical candidates on the 2-vCPU Zen 4).
    const Candidate* winner =
        &*std::min_element(candidates.begin(), candidates.end(), [](auto& a, auto& b) { return a.score < b.score; });
    const bool kept = winner != &candidates.front() && candidates.front().score <= winner->score * (1 + kNoise);
    if (kept) winner = &candidates.front();

    std::string header = fmt::format("\n{:>6} {:>6} {:>6}", "mc", "kc", "nc");
    for (size_t w = 0; w < workloads.size(); ++w) header += fmt::format(" {:>12}", fmt::format("w{} ms", w + 1));
    std::printf("%s %9s\n", header.c_str(), "relative");
    for (const Candidate& c : candidates) {
        std::string row = fmt::format("{:>6} {:>6} {:>6}", c.sizes.mc, c.sizes.kc, c.sizes.nc);
        for (double m : c.median) row += fmt::format(" {:>12.3f}", m);
        std::string note = c.label;
        if (&c == winner) note += note.empty() ? "chosen" : ", chosen";
        std::printf("%s %9.3f  %s\n", row.c_str(), c.score, note.c_str());
    }
    if (kept) std::printf("  (no candidate is %.0f%% faster than the derived point, which is kept)\n", 100 * kNoise);
    for (size_t w = 0; w < workloads.size(); ++w)
        std::printf("  w%zu: %s (%s)\n", w + 1, workloads[w].label.c_str(), workloads[w].variant.c_str());

    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
    MG_CHECK(!error, "bench --tune: cannot create the folder of {}: {}", path, error.message());
    io::write_file_atomically(path, cpu::gemm_tuned_file_text(caches.model, shape, winner->sizes));
    std::printf("wrote %s (%s: mc %lld, kc %lld, nc %lld); MINIGEN_GEMM_BLOCKING overrides it\n", path.c_str(),
                cpu::gemm_blocking_key(shape).c_str(), (long long)winner->sizes.mc, (long long)winner->sizes.kc,
                (long long)winner->sizes.nc);
    return 0;
}

}  // namespace mg::tools::bench
