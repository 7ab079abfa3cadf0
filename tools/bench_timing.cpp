// Timing for `minigen bench`: warm-up, a sample length calibrated from one call, then
// the median, min and max per call over the samples (as tools/reference/torch_ref.py does,
// so the two sides are measured the same way).
#include <algorithm>
#include <cmath>
#include <ctime>

#include "tools/bench.h"

namespace mg::tools::bench {

Timing time_calls(const std::function<void()>& fn, const TimingOptions& opt) {
    // Warm-up; the last warm-up call tells how many calls make a sample of min_sample_s
    // and how many samples fit. Slow calls (a reference kernel) warm up for max_warmup_s.
    double one = 0, warm = 0, t0 = 0;
    for (int i = 0; i < std::max(1, opt.warmup) && (i == 0 || opt.max_warmup_s <= 0 || warm < opt.max_warmup_s); ++i) {
        t0 = now_seconds();
        fn();
        one = now_seconds() - t0;
        warm += one;
    }
    one = std::max(one, 1e-7);
    Timing t;
    t.calls_per_sample = opt.min_sample_s > 0 ? std::max<int64_t>(1, int64_t(std::ceil(opt.min_sample_s / one))) : 1;
    int samples = std::max(1, opt.samples);
    if (opt.max_total_s > 0) {
        const int fit = int(opt.max_total_s / (one * double(t.calls_per_sample)));
        samples = std::min(samples, std::max(3, fit));
    }
    std::vector<double> ms;
    ms.reserve(size_t(samples));
    const auto clock = [&opt] {
        if (!opt.cpu_time) return now_seconds();
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
    };
    for (int s = 0; s < samples; ++s) {
        t0 = clock();
        for (int64_t c = 0; c < t.calls_per_sample; ++c) fn();
        ms.push_back((clock() - t0) * 1e3 / double(t.calls_per_sample));
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    t.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    t.min_ms = ms.front();
    t.max_ms = ms.back();
    t.samples = int(n);
    return t;
}

void finish_rates(Result& r, const Peaks& peaks) {
    if (!r.timed || r.timing.median_ms <= 0) return;
    const double seconds = r.timing.median_ms * 1e-3;
    if (r.flop > 0) {
        r.gflops = r.flop / seconds * 1e-9;
        const double peak = r.threads <= 1 ? peaks.fma_gflops_1 : peaks.fma_gflops_all;
        if (peak > 0) r.peak_fraction = r.gflops / peak;
    }
    if (r.bytes > 0) {
        r.gbps = r.bytes / seconds * 1e-9;
        double peak = 0;
        switch (r.traffic) {
            case Traffic::Read: peak = peaks.read_gbps; break;
            case Traffic::Copy: peak = peaks.copy_gbps; break;
            case Traffic::Triad: peak = peaks.triad_gbps; break;
            case Traffic::None: break;
        }
        if (peak > 0) r.peak_fraction = r.gbps / peak;
    }
}

}  // namespace mg::tools::bench
