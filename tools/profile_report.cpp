#include "tools/profile_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "core/io/input.h"
#include "kernels/base.h"
#include "tools/report.h"

namespace fs = std::filesystem;

namespace mg::tools {

namespace {

using kernels::profile::Phase;
using kernels::profile::Region;

const char* phase_name(Phase p) {
    switch (p) {
        case Phase::Forward: return "forward";
        case Phase::Backward: return "backward";
        case Phase::Region: return "";
    }
    return "";
}

void add_calls(ProfileRow& row, const kernels::profile::KernelRow& k, double per_step) {
    row.calls += double(k.calls) * per_step;
    row.self_s += k.self_s * per_step;
    row.total_s += k.total_s * per_step;
    row.flop += k.flop * per_step;
    row.bytes += k.bytes * per_step;
}

std::vector<ProfileRow> sorted_by_self_time(std::map<std::string, ProfileRow> rows) {
    std::vector<ProfileRow> out;
    for (auto& [name, row] : rows) out.push_back(std::move(row));
    std::stable_sort(out.begin(), out.end(), [](const ProfileRow& a, const ProfileRow& b) { return a.self_s > b.self_s; });
    return out;
}

double share(double seconds, const ProfileReport& r) { return r.step_s > 0 ? 100.0 * seconds / r.step_s : 0.0; }

std::string cost_cell(const ProfileRow& row, double value, double scale, const char* format) {
    return row.has_cost ? fmt::format(fmt::runtime(format), value * scale) : std::string("-");
}

// The first report.top rows as `line` formats them, then one line summing the rest (its self
// time under the tables' third column).
template <class Line>
std::string top_rows(const ProfileReport& r, const std::vector<ProfileRow>& rows, const char* what,
                     int second_column_width, Line&& line) {
    std::string out;
    double rest_s = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (int(i) < r.top) out += line(rows[i]);
        else rest_s += rows[i].self_s;
    }
    if (rows.size() > size_t(r.top))
        out += fmt::format("{:<44} {:>{}} {:>8.3f} {:>5.1f}%\n", fmt::format("other ({} {})", rows.size() - size_t(r.top), what),
                           "", second_column_width, rest_s * 1e3, share(rest_s, r));
    return out;
}

}  // namespace

ProfileReport make_profile_report(const kernels::profile::Summary& summary, const bench::Peaks& peaks, int top) {
    MG_CHECK(summary.steps > 0, "profile: no step was recorded");
    ProfileReport r;
    r.steps = summary.steps;
    r.threads = peaks.threads;
    r.top = top;
    const double per_step = 1.0 / double(summary.steps);
    r.step_s = summary.wall_s * per_step;
    r.peaks = peaks;
    r.peak_gflops = peaks.threads == 1 ? peaks.fma_gflops_1 : peaks.fma_gflops_all;
    r.bandwidth_gbps = peaks.copy_gbps;

    std::map<std::string, ProfileRow> kernels, nodes;
    std::map<std::string, bool> kernel_costed;
    for (const kernels::profile::KernelRow& k : summary.rows) {
        const std::string kernel = fmt::format("{}/{} {}", k.table, k.variant, k.dtype);
        ProfileRow& kr = kernels[kernel];
        kr.name = kernel;
        add_calls(kr, k, per_step);
        auto [costed, fresh] = kernel_costed.emplace(kernel, k.has_cost);
        if (!fresh) costed->second = costed->second && k.has_cost;
        kr.has_cost = costed->second;

        const std::string phase = phase_name(k.phase);
        ProfileRow& nr = nodes[k.node + "\t" + phase];
        nr.name = k.node;
        nr.phase = phase;
        add_calls(nr, k, per_step);
        nr.kernels.emplace_back(kernel, double(k.calls) * per_step);
    }
    r.kernels = sorted_by_self_time(std::move(kernels));
    r.nodes = sorted_by_self_time(std::move(nodes));
    for (Region region : {Region::Kernel, Region::Allocator, Region::AutogradEngine, Region::Backward, Region::Optimizer,
                          Region::Data, Region::Step})
        r.parts.push_back({kernels::profile::region_name(region), summary.region_self_s[int(region)] * per_step});
    return r;
}

Roofline roofline(const ProfileRow& row, const ProfileReport& r) {
    Roofline f;
    if (!row.has_cost || row.bytes <= 0 || row.total_s <= 0) return f;
    f.intensity = row.flop / row.bytes;
    f.gflops = row.flop / row.total_s * 1e-9;
    f.gbps = row.bytes / row.total_s * 1e-9;
    f.roof_gflops = std::min(r.peak_gflops, f.intensity * r.bandwidth_gbps);
    f.memory_bound = f.intensity * r.bandwidth_gbps < r.peak_gflops;
    return f;
}

nlohmann::json profile_json(const ProfileReport& r) {
    auto row_json = [&](const ProfileRow& row) {
        nlohmann::json j = {{"name", row.name},
                            {"calls_per_step", row.calls},
                            {"self_ms", row.self_s * 1e3},
                            {"total_ms", row.total_s * 1e3},
                            {"share", share(row.self_s, r) / 100.0}};
        if (!row.phase.empty()) j["phase"] = row.phase;
        if (row.has_cost) {
            const Roofline f = roofline(row, r);
            j["gflop"] = row.flop * 1e-9;
            j["mbytes"] = row.bytes * 1e-6;
            j["gflops"] = f.gflops;
            j["gbps"] = f.gbps;
            j["flop_per_byte"] = f.intensity;
            j["roof_gflops"] = f.roof_gflops;
            j["roof_fraction"] = f.roof_gflops > 0 ? f.gflops / f.roof_gflops : 0.0;
            j["bound"] = f.memory_bound ? "memory" : "compute";
        }
        if (!row.kernels.empty()) {
            j["kernels"] = nlohmann::json::array();
            for (const auto& [name, calls] : row.kernels) j["kernels"].push_back({{"kernel", name}, {"calls_per_step", calls}});
        }
        return j;
    };
    nlohmann::json j;
    j["model"] = r.model;
    j["batch"] = r.batch;
    j["threads"] = r.threads;
    j["steps"] = r.steps;
    j["warmup"] = r.warmup;
    j["step_ms"] = r.step_s * 1e3;
    j["profiled_median_step_ms"] = r.profiled_median_s * 1e3;
    j["unprofiled_median_step_ms"] = r.unprofiled_median_s * 1e3;
    j["peaks"] = {{"isa", r.peaks.isa},
                  {"fma_gflops", r.peak_gflops},
                  {"copy_gbps", r.bandwidth_gbps},
                  {"ridge_flop_per_byte", r.bandwidth_gbps > 0 ? r.peak_gflops / r.bandwidth_gbps : 0.0}};
    j["kernels"] = nlohmann::json::array();
    for (const ProfileRow& row : r.kernels) j["kernels"].push_back(row_json(row));
    j["nodes"] = nlohmann::json::array();
    for (const ProfileRow& row : r.nodes) j["nodes"].push_back(row_json(row));
    double accounted = 0;
    j["breakdown"] = nlohmann::json::array();
    for (const ProfilePart& p : r.parts) {
        j["breakdown"].push_back({{"part", p.name}, {"ms", p.seconds * 1e3}, {"share", share(p.seconds, r) / 100.0}});
        accounted += p.seconds;
    }
    j["accounted_ms"] = accounted * 1e3;
    return j;
}

std::string profile_table(const ProfileReport& r) {
    std::string out = fmt::format("minigen profile {}: batch {}, {} thread{}, {} steps after {} warm-up\n", r.model,
                                  r.batch, r.threads, r.threads == 1 ? "" : "s", r.steps, r.warmup);
    out += fmt::format("step: {:.2f} ms profiled (mean; median {:.2f} ms), {:.2f} ms without the profiler (median of "
                       "{} steps, interleaved)\n",
                       r.step_s * 1e3, r.profiled_median_s * 1e3, r.unprofiled_median_s * 1e3, r.steps);
    out += fmt::format("roofline: FMA peak {:.1f} GFLOP/s ({}, {} core{}), copy bandwidth {:.1f} GB/s, ridge {:.1f} FLOP/byte\n\n",
                       r.peak_gflops, r.peaks.isa, r.threads, r.threads == 1 ? "" : "s", r.bandwidth_gbps,
                       r.bandwidth_gbps > 0 ? r.peak_gflops / r.bandwidth_gbps : 0.0);

    out += fmt::format("{:<44} {:>7} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6}  {}\n",
                       "kernel (table/variant dtype)", "calls", "self ms", "share", "total ms", "MFLOP", "MB",
                       "GFLOP/s", "GB/s", "FLOP/B", "%roof", "bound");
    out += top_rows(r, r.kernels, "kernels", 7, [&](const ProfileRow& k) {
        const Roofline f = roofline(k, r);
        const bool rated = k.has_cost && f.roof_gflops > 0;
        return fmt::format("{:<44} {:>7.4g} {:>8.3f} {:>5.1f}% {:>8.3f} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6}  {}\n", k.name,
                           k.calls, k.self_s * 1e3, share(k.self_s, r), k.total_s * 1e3,
                           cost_cell(k, k.flop, 1e-6, "{:.1f}"), cost_cell(k, k.bytes, 1e-6, "{:.2f}"),
                           rated ? fmt::format("{:.2f}", f.gflops) : "-", rated ? fmt::format("{:.2f}", f.gbps) : "-",
                           rated ? fmt::format("{:.2f}", f.intensity) : "-",
                           rated ? fmt::format("{:.0f}%", 100.0 * f.gflops / f.roof_gflops) : "-",
                           rated ? (f.memory_bound ? "memory" : "compute") : "");
    });

    out += fmt::format("\n{:<44} {:>9} {:>8} {:>6}  {}\n", "autograd node (or region)", "phase", "self ms", "share",
                       "kernels (calls per step)");
    out += top_rows(r, r.nodes, "nodes", 9, [&](const ProfileRow& n) {
        std::string list;
        for (const auto& [name, calls] : n.kernels)
            list += fmt::format("{}{} x{:.4g}", list.empty() ? "" : ", ", name.substr(0, name.find('/')), calls);
        return fmt::format("{:<44} {:>9} {:>8.3f} {:>5.1f}%  {}\n", n.name, n.phase, n.self_s * 1e3, share(n.self_s, r),
                           list);
    });

    out += fmt::format("\n{:<52} {:>8} {:>6}\n", "where the step went", "ms", "share");
    double accounted = 0;
    for (const ProfilePart& p : r.parts) {
        out += fmt::format("{:<52} {:>8.3f} {:>5.1f}%\n", p.name, p.seconds * 1e3, share(p.seconds, r));
        accounted += p.seconds;
    }
    out += fmt::format("{:<52} {:>8.3f} {:>5.1f}%  of the measured step ({:.3f} ms)\n", "sum", accounted * 1e3,
                       share(accounted, r), r.step_s * 1e3);
    return out;
}

void draw_roofline(const ProfileReport& r, const std::string& png_path) {
    MG_CHECK(gnuplot_available(), "profile: the roofline {} needs gnuplot, which is not on PATH (apt-get install gnuplot-nox)",
             io::quote_short(png_path));
    const double ridge = r.bandwidth_gbps > 0 ? r.peak_gflops / r.bandwidth_gbps : 1.0;
    // The points: the kernels with a cost model among the top rows.
    std::string points;
    std::vector<std::string> titles;
    double x_lo = ridge / 8, x_hi = ridge * 8, y_lo = r.peak_gflops / 1e3;
    for (size_t i = 0; i < r.kernels.size() && int(i) < r.top; ++i) {
        const ProfileRow& k = r.kernels[i];
        const Roofline f = roofline(k, r);
        if (f.roof_gflops <= 0 || f.gflops <= 0) continue;
        const double pct = share(k.self_s, r);
        points += fmt::format("{:.6g} {:.6g} {:.4g}\n", f.intensity, f.gflops, 0.6 + 0.35 * std::sqrt(pct));
        titles.push_back(gnuplot_quote(plot_label(fmt::format("{} ({:.1f})", k.name, pct))));
        x_lo = std::min(x_lo, f.intensity / 2), x_hi = std::max(x_hi, f.intensity * 2);
        y_lo = std::min(y_lo, f.gflops / 2);
    }
    const fs::path png(png_path);
    const std::string tmp = png_path + fmt::format(".tmp-{}", ::getpid());
    std::string script = fmt::format(
        "set terminal pngcairo noenhanced size 1100,760 font 'sans,9'\n"
        "set output {}\n"
        "set title {}\n"
        "set logscale xy\nset grid\n"
        "set xlabel 'arithmetic intensity (FLOP per byte moved)'\nset ylabel 'achieved GFLOP/s'\n"
        "set xrange [{:.6g}:{:.6g}]\nset yrange [{:.6g}:{:.6g}]\n"
        "set key outside right top vertical Left reverse samplen 1 spacing 1.1 title 'kernel (percent of the step)'\n"
        "set bmargin 8\n"
        "set label 1 {} at screen 0.02,0.075 left\n"
        "set label 4 {} at screen 0.02,0.052 left\n"
        "set label 5 {} at screen 0.02,0.029 left\n"
        "set label 2 {} at {:.6g},{:.6g} left offset 0,0.8\n"
        "set label 3 {} at {:.6g},{:.6g} rotate by 28 left offset 0,0.8\n"
        "peak = {:.6g}; bw = {:.6g}\n"
        "roof(x) = x * bw < peak ? x * bw : peak\n",
        gnuplot_quote(fs::path(tmp).filename().string()),
        gnuplot_quote(plot_label(fmt::format("minigen profile {}: roofline, batch {}, {} thread(s)", r.model, r.batch,
                                             r.threads))),
        x_lo, x_hi, y_lo, r.peak_gflops * 3,
        gnuplot_quote("How to read: each point is a kernel at its FLOP per byte (x) and achieved GFLOP/s (y); the bigger "
                      "the point, the larger its share of the step time."),
        gnuplot_quote("Left of the ridge the slanted roof (copy bandwidth) limits a kernel, right of it the flat roof "
                      "(FMA peak): the gap below is what a better kernel could win."),
        gnuplot_quote("Bytes count each operand once: small operands that stay in cache can sit above the slanted roof."),
        gnuplot_quote(plot_label(fmt::format("FMA peak {:.1f} GFLOP/s ({})", r.peak_gflops, r.peaks.isa))), ridge * 1.1,
        r.peak_gflops,
        gnuplot_quote(plot_label(fmt::format("copy bandwidth {:.1f} GB/s", r.bandwidth_gbps))), x_lo * 1.5,
        x_lo * 1.5 * r.bandwidth_gbps, r.peak_gflops, r.bandwidth_gbps);
    script += "$points << EOD\n" + points + "EOD\n";
    script += "plot roof(x) with lines lw 2 lc rgb '#444444' title 'roof: min(peak, FLOP/byte x bandwidth)'";
    // gnuplot cycles 8 colours: a new point shape for each round of them.
    const int shapes[] = {7, 5, 9, 11, 13};
    for (size_t i = 0; i < titles.size(); ++i)
        script += fmt::format(", $points every ::{}::{} using 1:2:3 with points pt {} ps variable title {}", i, i,
                              shapes[(i / 8) % 5], titles[i]);
    script += "\nunset output\n";
    // gnuplot reads the script on stdin and runs in the output's directory: no path reaches a shell.
    const std::string dir = png.parent_path().empty() ? "." : png.parent_path().string();
    const std::string command = "cd " + shell_quote(dir) + " && gnuplot";
    std::FILE* pipe = ::popen(command.c_str(), "w");
    MG_CHECK(pipe != nullptr, "profile: could not start gnuplot for {}", io::quote_short(png_path));
    std::fputs(script.c_str(), pipe);
    const int status = ::pclose(pipe);
    std::error_code ec;
    if (status != 0 || fs::file_size(tmp, ec) == 0 || ec) {
        fs::remove(tmp, ec);
        MG_FAIL("profile: gnuplot could not draw {} (exit status {})", io::quote_short(png_path), status);
    }
    fs::rename(tmp, png, ec);
    MG_CHECK(!ec, "profile: cannot write {}: {}", io::quote_short(png_path), ec.message());
}

}  // namespace mg::tools
