// The kernel group of `minigen bench`: every CPU float32 variant of every case (and every
// variant of the int8 / bf16 cases), first checked against "reference" on the same inputs, then timed.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "kernels/registry.h"
#include "tools/bench.h"
#include "tools/bench_kernels.h"

namespace mg::tools::bench {

namespace {

constexpr double kCheckFlopBudget = 3e8;      // reference work in one check (~0.3 s)
constexpr double kMaxReferenceSeconds = 2.0;  // slower reference calls are not timed
constexpr double kMaxSecondsPerVariant = 5.0;

// The VNNI / BF16 peak for the reduced-precision cases (none where the CPU lacks the set).
void rate_against_lowp_peak(Result& r, KernelCase::Peak peak, const Peaks& peaks) {
    if (peak == KernelCase::Peak::Fma) return;
    const bool vnni = peak == KernelCase::Peak::Vnni;
    r.integer_ops = vnni;
    const double one = vnni ? peaks.vnni_gops_1 : peaks.bf16_gflops_1;
    const double all = vnni ? peaks.vnni_gops_all : peaks.bf16_gflops_all;
    const double p = r.threads <= 1 ? one : all;
    r.peak_fraction = p > 0 && r.gflops > 0 ? r.gflops / p : -1;
}

}  // namespace

void run_kernel_group(const RunOptions& opt, const Peaks& peaks) {
    std::vector<CaseSpec> cases = workload_kernel_cases(kCheckFlopBudget);
    for (CaseSpec& cs : lowp_kernel_cases(kCheckFlopBudget)) cases.push_back(std::move(cs));
    for (CaseSpec& cs : cases) {
        std::vector<std::string> variants;
        for (const std::string& v : cpu_f32_variants(cs.op, cs.dtype))
            if (opt.selected(cs.name + " " + cs.shape + " " + v)) variants.push_back(v);
        if (variants.empty()) continue;
        opt.progress(fmt::format("{} {}: preparing inputs", cs.name, cs.shape));
        std::unique_ptr<KernelCase> kc = cs.make();
        const std::string active = active_cpu_f32_variant(cs.op, cs.dtype);
        for (const std::string& v : variants) {
            Result r;
            r.kind = "kernel";
            r.name = kc->name;
            r.shape = kc->shape;
            r.variant = v;
            r.op = kc->op;
            r.is_default = v == active;
            r.threads = opt.threads;
            r.flop = kc->flop;
            r.bytes = kc->bytes;
            r.traffic = kc->traffic;

            opt.progress(fmt::format("{} {} {}: checking", r.name, r.shape, v));
            CheckResult c = kc->check(v);
            r.check = c.status;
            r.max_rel_error = c.max_rel_error;
            r.check_note = c.note;
            if (c.status == "fail")
                r.check_note += fmt::format("{}tolerance {:.0e}", c.note.empty() ? "" : "; ", c.tolerance);

            const double ref_s = v == "reference" ? kc->reference_seconds() : 0.0;
            if (ref_s > kMaxReferenceSeconds) {
                r.note = fmt::format("one call takes ~{:.0f} s (extrapolated from the checked part): not timed", ref_s);
            } else {
                opt.progress(fmt::format("{} {} {}: timing", r.name, r.shape, v));
                TimingOptions t;
                t.samples = opt.repeat > 0 ? opt.repeat : kc->samples;
                t.warmup = 3;
                t.min_sample_s = opt.min_time_s;
                t.max_total_s = kMaxSecondsPerVariant;
                t.cpu_time = opt.cpu_time;
                r.timing = time_calls([&] { kc->run(v); }, t);
                r.timed = true;
            }
            finish_rates(r, peaks);
            rate_against_lowp_peak(r, kc->peak, peaks);
            opt.emit(std::move(r));
        }
    }
}

std::vector<std::string> ops_without_cases() {
    kernels::init();
    std::set<std::string> covered;
    for (const CaseSpec& cs : workload_kernel_cases(0)) covered.insert(cs.op);
    for (const CaseSpec& cs : lowp_kernel_cases(0)) covered.insert(cs.op);
    std::vector<std::string> out;
    for (kernels::OpTableBase* t : kernels::all_tables()) {
        bool has_cpu_variant = false;
        for (const auto& v : t->variants()) has_cpu_variant |= v.device == Device::CPU;
        if (has_cpu_variant && !covered.count(t->name())) out.push_back(t->name());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace mg::tools::bench
