// minigen bench: the kernel lab. Measures the machine's peaks, checks every CPU kernel
// variant against its reference and times it at the workload shapes, times the same
// workloads through the op layer, and times one training step of each model.
// A table on stdout (or one JSON object per line with --json); progress on stderr.
// Exit status 1 when a variant fails its check.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/dist/collective.h"
#include "core/runtime.h"
#include "kernels/base.h"
#include "kernels/cpu/cache_info.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/device.h"
#include "tools/bench.h"
#include "tools/bench_kernels.h"
#include "tools/bench_tune.h"
#include "tools/cli.h"

namespace mg::tools {

namespace {

using bench::Result;

struct BenchArgs {
    bool kernels = false, workloads = false, all = false, json = false, eval = false, tune = false, quick = false;
    bool allreduce = false, cpu_time = false;
    std::string device = "cpu";
    std::string filter;
    int threads = 0;
    int repeat = 0;
    double min_time_s = 0.002;
};

// ---- progress on stderr: one overwritten line on a terminal, plain lines otherwise ------
class Progress {
public:
    Progress() : tty_(isatty(fileno(stderr))) {}
    void show(const std::string& what) {
        if (tty_) std::fprintf(stderr, "\r\033[K  %s ...", what.c_str());
        else std::fprintf(stderr, "bench: %s\n", what.c_str());
        std::fflush(stderr);
    }
    void clear() {
        if (tty_) std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
    }

private:
    bool tty_;
};

// ---- --filter -------------------------------------------------------------------------------
// A case-insensitive regular expression searched in each row's label: "name shape variant"
// (kernels), "name shape ops" (op layer) or the model name. The table names a kernel row by
// its workload (sgemm, conv2d: torch_ref.py's names, which bench_compare.py lines up), while
// `minigen info` and docs/kernels.md name the registry op (gemm, conv2d_forward), so a
// kernel row also matches with its op in place of the name:
// "conv2d_forward 64x64x14x14->128 k4s2p1 forward avx512". Every label asked about is kept,
// so that a filter which matches nothing can say what it could have matched.
class RowFilter {
public:
    explicit RowFilter(const std::string& pattern) : pattern_(pattern) {
        if (pattern.empty()) return;
        try {
            re_ = std::regex(pattern, std::regex::ECMAScript | std::regex::icase);
        } catch (const std::regex_error& e) {
            MG_FAIL("--filter: '{}' is not a valid regular expression ({})", pattern, e.what());
        }
        for (const bench::CaseSpec& cs : bench::workload_kernel_cases(0)) op_of_[cs.name + " " + cs.shape] = cs.op;
    }

    // Whether the row labelled `label` runs.
    bool matches(const std::string& label) const {
        if (pattern_.empty() || std::regex_search(label, re_)) return true;
        const std::string* op = op_of(label);
        return op != nullptr && std::regex_search(*op + label.substr(label.find(' ')), re_);
    }
    // matches(label), remembering the row's name under `group` ("kernel rows") for check_matched.
    bool ask(const std::string& group, const std::string& label) {
        const std::string name = label.substr(0, label.find(' '));
        std::set<std::string>& ops = names_[group][name];
        if (const std::string* op = op_of(label); op != nullptr && *op != name) ops.insert(*op);
        const bool hit = matches(label);
        matched_ |= hit;
        return hit;
    }

    // After the groups have been asked about their rows: an error naming what there is to match.
    void check_matched() const {
        if (pattern_.empty() || matched_) return;
        std::string lists;
        for (const auto& [group, names] : names_) {  // "conv2d (conv2d_forward, ...)", "exp"
            std::string joined;
            for (const auto& [name, ops] : names)
                joined += (joined.empty() ? "" : ", ") + name +
                          (ops.empty() ? "" : fmt::format(" ({})", fmt::join(ops, ", ")));
            lists += fmt::format("; {}: {}", group, joined);
        }
        MG_FAIL("--filter '{}' matches no row (searched in 'name shape variant', the op in place of a kernel "
                "row's name, or the model){}",
                pattern_, lists);
    }

private:
    // The registry op of a kernel row's label (its "name shape" without the variant), or null.
    const std::string* op_of(const std::string& label) const {
        const size_t last_space = label.rfind(' ');
        if (last_space == std::string::npos) return nullptr;
        auto it = op_of_.find(label.substr(0, last_space));
        return it == op_of_.end() ? nullptr : &it->second;
    }

    std::string pattern_;
    std::regex re_;
    std::map<std::string, std::string> op_of_;  // a kernel row's "name shape" -> its registry op
    std::map<std::string, std::map<std::string, std::set<std::string>>> names_;  // group -> name -> its ops
    bool matched_ = false;
};

// ---- output ---------------------------------------------------------------------------------
std::string format_ms(double ms) {
    if (ms < 0.01) return fmt::format("{:.3f} us", ms * 1e3);
    if (ms < 100) return fmt::format("{:.4f} ms", ms);
    return fmt::format("{:.1f} ms", ms);
}

std::string check_cell(const Result& r) {
    if (r.check == "skipped") return "-";
    return fmt::format("{} {:.1e}", r.check == "pass" ? "pass" : "FAIL", r.max_rel_error);
}

std::string notes_cell(const Result& r) {
    std::string s = r.check_note;
    if (!r.note.empty()) s += (s.empty() ? "" : "; ") + r.note;
    if (r.timed && r.timing.samples > 0 && r.kind != "model" && r.timing.samples < 10)
        s += (s.empty() ? "" : "; ") + fmt::format("{} samples", r.timing.samples);
    return s;
}

nlohmann::json to_json(const Result& r) {
    nlohmann::json j = {{"kind", r.kind}, {"name", r.name}, {"variant", r.variant}, {"threads", r.threads}};
    if (!r.shape.empty()) j["shape"] = r.shape;
    if (!r.op.empty()) j["op"] = r.op;
    if (r.kind == "kernel" || r.kind == "ops") j["default"] = r.is_default;
    if (r.timed) {
        j["median_ms"] = r.timing.median_ms;
        j["min_ms"] = r.timing.min_ms;
        j["max_ms"] = r.timing.max_ms;
        j["samples"] = r.timing.samples;
        if (r.timing.calls_per_sample > 1) j["calls_per_sample"] = r.timing.calls_per_sample;
    }
    if (r.gflops > 0) j["gflops"] = r.gflops;
    if (r.gbps > 0) j["gbps"] = r.gbps;
    if (r.peak_fraction >= 0) j["peak_fraction"] = r.peak_fraction;
    if (r.integer_ops) j["integer_ops"] = true;  // gflops counts int8 ops (GOP/s)
    {
        j["check"] = r.check;
        j["max_rel_error"] = r.max_rel_error >= 0 ? nlohmann::json(r.max_rel_error) : nlohmann::json(nullptr);
        if (!r.check_note.empty()) j["check_note"] = r.check_note;
    }
    if ((r.kind == "model" || r.kind == "busy") && r.timed) {
        j["batch"] = r.batch;
        j["unit"] = r.unit;
        j[r.unit + "_per_s"] = r.items_per_s;
    }
    if (r.kind == "busy" && r.timed) j["slowdown"] = r.slowdown;
    if (!r.note.empty()) j["note"] = r.note;
    return j;
}

class Output {
public:
    explicit Output(bool json) : json_(json) {}

    void line(const nlohmann::json& j) {
        std::printf("%s\n", j.dump().c_str());
        std::fflush(stdout);
    }
    void text(const std::string& s) {
        if (json_) return;
        progress.clear();
        std::printf("%s", s.c_str());
        std::fflush(stdout);
    }

    void peaks(const bench::Peaks& p) {
        if (json_) {
            line({{"kind", "peak"}, {"name", "peak_fma"}, {"variant", p.isa}, {"threads", 1},
                  {"gflops", p.fma_gflops_1}});
            if (p.threads > 1)
                line({{"kind", "peak"}, {"name", "peak_fma"}, {"variant", p.isa}, {"threads", p.threads},
                      {"gflops", p.fma_gflops_all}});
            if (p.vnni_gops_1 > 0)
                line({{"kind", "peak"}, {"name", "peak_vnni"}, {"variant", "avx512_vnni"}, {"threads", 1},
                      {"gops", p.vnni_gops_1}, {"gops_all", p.vnni_gops_all}});
            if (p.bf16_gflops_1 > 0)
                line({{"kind", "peak"}, {"name", "peak_bf16"}, {"variant", "avx512_bf16"}, {"threads", 1},
                      {"gflops", p.bf16_gflops_1}, {"gflops_all", p.bf16_gflops_all}});
            const std::pair<const char*, double> patterns[] = {
                {"read", p.read_gbps}, {"copy", p.copy_gbps}, {"triad", p.triad_gbps}};
            for (auto [pattern, gbps] : patterns)
                line({{"kind", "peak"}, {"name", "peak_bandwidth"}, {"variant", pattern}, {"threads", p.threads},
                      {"gbps", gbps}, {"bytes_per_array", p.bandwidth_bytes}});
            return;
        }
        std::string fma = fmt::format("{:.1f} GFLOP/s on 1 core", p.fma_gflops_1);
        if (p.threads > 1) fma += fmt::format(", {:.1f} GFLOP/s on {} threads", p.fma_gflops_all, p.threads);
        text(fmt::format("measured peaks\n"
                         "  FMA ({}):   {}\n"
                         "  bandwidth:       read {:.1f} GB/s, copy {:.1f} GB/s, triad {:.1f} GB/s "
                         "({} thread{}, {} MiB arrays)\n",
                         p.isa, fma, p.read_gbps, p.copy_gbps,
                         p.triad_gbps, p.threads, p.threads == 1 ? "" : "s", p.bandwidth_bytes >> 20));
        if (p.vnni_gops_1 > 0) text(fmt::format("  VNNI int8:       {:.1f} GOP/s on 1 core\n", p.vnni_gops_1));
        if (p.bf16_gflops_1 > 0) text(fmt::format("  BF16:            {:.1f} GFLOP/s on 1 core\n", p.bf16_gflops_1));
    }

    void result(const Result& r) {
        if (r.check == "fail") ++failures;
        if (r.check == "pass") ++passes;
        if (json_) {
            line(to_json(r));
            return;
        }
        if (r.kind != section_) {
            section_ = r.kind;
            if (r.kind == "eval")
                text(fmt::format("\n{:<17} {:<26} {:>10}\n", "evaluation", "size", "seconds"));
            else if (r.kind == "model")
                text(fmt::format("\n{:<12} {:<10} {:>12} {:>12} {:>12} {:>16}  {}\n", "model step", "batch", "median",
                                 "min", "max", "throughput", "notes"));
            else if (r.kind == "busy")
                text(fmt::format("\n{:<12} {:<10} {:<8} {:>12} {:>12} {:>12} {:>8}  {}\n", "model step", "batch",
                                 "beside", "median", "min", "max", "x idle", "wait policy"));
            else
                text(fmt::format("\n{:<17} {:<38} {:<10} {:>12} {:>12} {:>12} {:>15} {:>6}  {:<13} {}\n",
                                 r.kind == "kernel" ? "kernel" : r.kind == "collective" ? "collective" : "op layer", "shape", "variant", "median", "min",
                                 "max", "rate", "%peak", "check", "notes"));
        }
        if (r.kind == "eval") {
            text(fmt::format("{:<17} {:<26} {:>10.2f}\n", r.name, r.shape, r.timing.median_ms / 1e3));
            return;
        }
        if (r.kind == "busy") {
            if (!r.timed) {
                text(fmt::format("{:<12} {}\n", r.name, r.note));
                return;
            }
            text(fmt::format("{:<12} {:<10} {:<8} {:>12} {:>12} {:>12} {:>7.2f}x  {}\n", r.name, r.batch, r.variant,
                             format_ms(r.timing.median_ms), format_ms(r.timing.min_ms), format_ms(r.timing.max_ms),
                             r.slowdown, r.note));
            return;
        }
        if (r.kind == "model") {
            if (!r.timed) {
                text(fmt::format("{:<12} {}\n", r.name, r.note));
                return;
            }
            text(fmt::format("{:<12} {:<10} {:>12} {:>12} {:>12} {:>9.0f} {}/s  {}\n", r.name, r.batch,
                             format_ms(r.timing.median_ms), format_ms(r.timing.min_ms), format_ms(r.timing.max_ms),
                             r.items_per_s, r.unit == "images" ? "img" : "pts", r.note));
            return;
        }
        std::string rate = r.gflops > 0 ? fmt::format("{:.1f} {}/s", r.gflops, r.integer_ops ? "GOP" : "GFLOP")
                           : r.gbps > 0 ? fmt::format("{:.1f} GB/s", r.gbps)
                                        : "";
        std::string peak = r.peak_fraction >= 0 ? fmt::format("{:.0f}%", 100 * r.peak_fraction) : "";
        std::string variant = r.variant + (r.is_default && r.kind == "kernel" ? "*" : "");
        if (!r.timed)
            text(fmt::format("{:<17} {:<38} {:<10} {:>12} {:>12} {:>12} {:>15} {:>6}  {:<13} {}\n", r.name, r.shape,
                             variant, "-", "-", "-", "", "", check_cell(r), notes_cell(r)));
        else
            text(fmt::format("{:<17} {:<38} {:<10} {:>12} {:>12} {:>12} {:>15} {:>6}  {:<13} {}\n", r.name, r.shape,
                             variant, format_ms(r.timing.median_ms), format_ms(r.timing.min_ms),
                             format_ms(r.timing.max_ms), rate, peak, check_cell(r), notes_cell(r)));
    }

    Progress progress;
    int failures = 0, passes = 0;

private:
    bool json_;
    std::string section_;
};

int finish(Output& out) {
    out.progress.clear();
    if (out.failures > 0) {
        std::fprintf(stderr, "minigen bench: %d variant check%s FAILED\n", out.failures, out.failures == 1 ? "" : "s");
        return 1;
    }
    if (out.passes > 0) std::fprintf(stderr, "minigen bench: %d variant checks passed\n", out.passes);
    return 0;
}

// --device cuda: the GPU's peaks, every CUDA variant at the workload shapes, and the models'
// training steps on the GPU. The same rows and JSON lines as on the CPU.
int run_cuda_bench(const BenchArgs& a, bool kernels, bool workloads, RowFilter& filter) {
    MG_CHECK(kernels::cuda::available(), "--device cuda: {}", kernels::cuda::unavailable_reason());
    Output out(a.json);
    const std::string gpu = kernels::cuda::device_name(0);
    if (a.json)
        out.line({{"kind", "machine"}, {"gpu", gpu}, {"cpu", kernels::cpu::cpu_model_string()},
                  {"build", build_info().build_type}});
    else
        out.text(fmt::format("minigen bench --device cuda: {}\n", gpu));
    out.progress.show("measuring the GPU's FP32 FMA peak and copy bandwidth");
    const bench::Peaks peaks = bench::measure_cuda_peaks();
    if (a.json) {
        out.line({{"kind", "peak"}, {"name", "peak_fma"}, {"variant", peaks.isa}, {"gflops", peaks.fma_gflops_1}});
        out.line({{"kind", "peak"}, {"name", "peak_bandwidth"}, {"variant", "copy"}, {"gbps", peaks.copy_gbps},
                  {"bytes_per_array", peaks.bandwidth_bytes}});
    } else {
        out.text(fmt::format("measured peaks\n  FP32 FMA:  {:.0f} GFLOP/s\n  copy:      {:.0f} GB/s (device to "
                             "device, {} MiB, bytes read + written)\n",
                             peaks.fma_gflops_1, peaks.copy_gbps, peaks.bandwidth_bytes >> 20));
    }
    bench::RunOptions opt;
    opt.threads = num_threads();
    opt.device = Device::CUDA;
    opt.repeat = a.repeat;
    opt.min_time_s = a.min_time_s;
    opt.emit = [&](Result r) { out.result(r); };
    opt.progress = [&](const std::string& what) { out.progress.show(what); };
    // The GPU cases build their inputs up front, so the filter is judged after the run.
    opt.selected = [&](const std::string& label) { return filter.ask("kernel rows (op)", label); };
    if (kernels) bench::run_cuda_kernel_group(opt, peaks);
    opt.selected = [&](const std::string& label) { return filter.ask("models", label); };
    if (workloads) {
        out.text("\nworkloads on the GPU: one training step (forward, backward, optimizer), batches in device memory\n");
        bench::run_workload_group(opt);
    }
    filter.check_matched();
    return finish(out);
}

// --allreduce (under mpirun): the collectives alone, on every rank. Rank 0 measures the
// copy bandwidth while the others wait, and prints the rows.
int run_allreduce_bench(const BenchArgs& a, int threads) {
    MG_CHECK(a.device == "cpu" && !a.eval && !a.tune && !a.kernels && !a.workloads,
             "bench --allreduce: times the collectives alone (on the CPU); --device, --eval, --tune, --kernels and "
             "--workloads do not apply");
    RowFilter filter(a.filter);
    Output out(a.json);
    const bool root = dist::is_root();
    bench::Peaks peaks;
    if (root) {
        out.text(fmt::format("minigen bench --allreduce: {}, {} rank{} ({})\n", kernels::cpu::cpu_model_string(),
                             dist::world().size(), dist::world().size() == 1 ? "" : "s", dist::world().backend()));
        out.progress.show("measuring the memory bandwidth");
        peaks = bench::measure_peaks(threads);
        out.peaks(peaks);
    }
    dist::world().barrier();
    bench::RunOptions opt;
    opt.threads = threads;
    opt.selected = [&](const std::string& label) { return filter.ask("all-reduce rows", label); };
    opt.emit = [&](Result r) { out.result(r); };
    opt.progress = [&](const std::string& what) {
        if (root) out.progress.show(what);
    };
    bench::run_allreduce_group(opt, peaks);
    filter.check_matched();
    return finish(out);
}

int run_bench(const BenchArgs& a) {
    apply_threads(a.threads);
    const int threads = num_threads();
    if (a.allreduce) return run_allreduce_bench(a, threads);
    if (a.tune) {
        MG_CHECK(a.device == "cpu", "--tune tunes the CPU GEMM; --device {} has nothing to tune", a.device);
        return bench::run_gemm_tune({threads, a.quick});
    }
    MG_CHECK(!a.quick, "--quick goes with --tune only");
    MG_CHECK(!a.cpu_time || (threads == 1 && a.device == "cpu"),
             "--cpu-time: the process's CPU time is a step's time only at one thread on the CPU; add --threads 1 "
             "(got {} thread{}{})", threads, threads == 1 ? "" : "s", a.device == "cpu" ? "" : ", --device " + a.device);
    bool kernels = a.kernels || a.all || !a.workloads;
    bool workloads = a.workloads || a.all || !a.kernels;

    MG_CHECK(!a.eval || (a.filter.empty() && a.device == "cpu"),
             "bench --eval: times the evaluator, which runs on the CPU; --filter and --device do not apply");
    RowFilter filter(a.filter);
    if (a.device == "cuda") return run_cuda_bench(a, kernels, workloads, filter);
    // A dry pass that selects nothing: the groups ask about every row before building any,
    // so a filter that matches none fails here, before the peaks are measured.
    if (!a.filter.empty()) {
        bench::RunOptions dry;
        dry.emit = [](Result) {};
        dry.progress = [](const std::string&) {};
        const bench::Peaks none;
        auto asking = [&](const char* group) {
            return [&filter, group](const std::string& label) {
                filter.ask(group, label);
                return false;  // asked about, never built
            };
        };
        if (kernels) {
            dry.selected = asking("kernel rows (op)");
            bench::run_kernel_group(dry, none);
            dry.selected = asking("op-layer rows");
            bench::run_ops_group(dry, none);
        }
        if (workloads) {
            dry.selected = asking("models");
            bench::run_workload_group(dry);
            dry.selected = asking("busy-machine rows");
            bench::run_busy_group(dry);
        }
        filter.check_matched();
    }
    Output out(a.json);
    const std::string cpu = kernels::cpu::cpu_model_string();
    if (a.json)
        out.line({{"kind", "machine"}, {"cpu", cpu}, {"threads", threads},
                  {"features", kernels::cpu::cpu_feature_string()}, {"build", build_info().build_type},
                  {"omp_wait_policy", omp_wait_policy()}});
    else
        out.text(fmt::format("minigen bench: {}, {} thread{}, OpenMP waits: {}\n", cpu, threads,
                             threads == 1 ? "" : "s", omp_wait_policy()));

    if (a.eval) {  // the evaluator alone: no peaks, kernels or models
        bench::RunOptions opt;
        opt.threads = threads;
        opt.selected = [](const std::string&) { return true; };
        opt.emit = [&](Result r) { out.result(r); };
        opt.progress = [&](const std::string& what) { out.progress.show(what); };
        bench::run_eval_group(opt);
        return finish(out);
    }
    out.progress.show("measuring the FMA peak and the memory bandwidth");
    const bench::Peaks peaks = bench::measure_peaks(threads, a.cpu_time);
    out.peaks(peaks);
    if (a.cpu_time) out.text("times: this process's CPU time per call (--cpu-time), not the wall clock\n");

    bench::RunOptions opt;
    opt.threads = threads;
    opt.repeat = a.repeat;
    opt.min_time_s = a.min_time_s;
    opt.cpu_time = a.cpu_time;
    opt.selected = [&](const std::string& label) { return filter.matches(label); };
    opt.emit = [&](Result r) { out.result(r); };
    opt.progress = [&](const std::string& what) { out.progress.show(what); };

    if (kernels) {
        bench::run_kernel_group(opt, peaks);
        bench::run_ops_group(opt, peaks);
        std::string rest;
        for (const std::string& op : bench::ops_without_cases()) rest += (rest.empty() ? "" : " ") + op;
        if (!rest.empty() && a.filter.empty())
            out.text(fmt::format("\n(* = the active variant; ops with no workload shape here: {})\n", rest));
    }
    if (workloads) {
        out.text("\nworkloads: one training step (forward, backward, optimizer) on random data in memory\n");
        bench::run_workload_group(opt);
        out.text("\na busy machine: the same steps idle, then beside a process the bench starts that spins on a "
                 "core at nice 19, then at nice 0\n");
        bench::run_busy_group(opt);
    }
    return finish(out);
}

}  // namespace

void add_bench_command(CLI::App& app) {
    static BenchArgs a;
    auto* cmd = app.add_subcommand(
        "bench",
        "The kernel lab: measured peaks, every kernel variant checked against its reference and timed at the "
        "workload shapes, and each model's training step (default: everything)");
    auto* k = cmd->add_flag("--kernels", a.kernels, "Kernels and op-layer workloads only");
    auto* w = cmd->add_flag("--workloads", a.workloads, "Model training steps only");
    auto* all = cmd->add_flag("--all", a.all, "Kernels and workloads (the default)")->excludes(k)->excludes(w);
    cmd->add_flag("--allreduce", a.allreduce,
                  "The all-reduce's bandwidth from 4 KiB to 64 MiB, beside the copy bandwidth; run under "
                  "mpirun -np N (docs/distributed.md)");
    cmd->add_flag("--eval", a.eval,
                  "Only a full evaluation of 10,000 samples vs Fashion-MNIST's test set (features, FID, KID, IS, "
                  "precision/recall, class histogram), whole and per phase")
        ->excludes(k)
        ->excludes(w)
        ->excludes(all);
    cmd->add_option("--filter", a.filter,
                    "Regular expression over 'name shape variant' (kernels; the registry op as in minigen info, "
                    "e.g. conv2d_forward, also matches in place of the name), 'name shape ops' (op layer) or the "
                    "model name; the peaks are always measured; matching no row is an error (exit 2)");
    add_threads_option(*cmd, a.threads);
    auto* tune = cmd->add_flag("--tune", a.tune,
                               "Autotune the float32 GEMM blocking (about a minute) and write the winner to this CPU "
                               "model's file under $MINIGEN_CACHE_DIR/tune (default ~/.cache/minigen/tune)");
    tune->excludes(k)->excludes(w);
    cmd->add_flag("--quick", a.quick, "With --tune: tiny shapes and three candidates, a few seconds (for tests)");
    cmd->add_option("--device", a.device, "cpu (default) or cuda: the GPU's peaks, its kernel variants and the "
                                          "models' steps on it")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    cmd->add_flag("--json", a.json, "One JSON object per line on stdout instead of the table");
    cmd->add_option("--repeat", a.repeat,
                    "Timed samples per kernel (default 30; 10 for the elementwise ops besides add and sum) "
                    "or steps per model (default: as torch_ref.py)")
        ->check(integer_range(1, 1000000));
    cmd->add_flag("--cpu-time", a.cpu_time,
                  "Time by this process's CPU time instead of the wall clock (with --threads 1): on a busy machine "
                  "the waits for a core do not count; the bench's busy rows are always wall clock");
    cmd->add_option("--min-time", a.min_time_s, "Shortest kernel sample in seconds (default 0.002)")
        ->check(number_range(0, 3600, /*lo_exclusive=*/true));
    cmd->callback([] { std::exit(run_bench(a)); });
}

}  // namespace mg::tools
