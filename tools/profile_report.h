// What `minigen profile` prints and writes, from a profiler Summary (kernels/profile.h) and
// the machine's measured peaks (tools/bench_peaks.cpp): a text table, JSON, and a roofline
// PNG drawn by gnuplot. Every time is per step (the Summary's totals / its steps).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/profile.h"
#include "tools/bench.h"

namespace mg::tools {

// One kernel (table, variant, dtype) over every node that called it, or one autograd node.
struct ProfileRow {
    std::string name;     // "conv2d_forward/im2col f32", or the node: "conv2d"
    std::string phase;    // nodes: "forward" | "backward" | "" (a region's label)
    double calls = 0;     // per step
    double self_s = 0;    // per step; excludes the kernels called inside (nested tables)
    double total_s = 0;   // per step; includes them
    bool has_cost = false;
    double flop = 0, bytes = 0;  // per step, when has_cost
    std::vector<std::pair<std::string, double>> kernels;  // nodes: kernel name, calls per step
};

// Where the rest of the step went (kernels/profile.h's regions), per step.
struct ProfilePart {
    std::string name;
    double seconds = 0;
};

struct ProfileReport {
    std::string model;
    int64_t batch = 0;
    int steps = 0, warmup = 0, threads = 1;
    double step_s = 0;               // profiled, the mean step, as the recorder measured it
    double profiled_median_s = 0;    // the median profiled step (measured outside the recorder)
    double unprofiled_median_s = 0;  // the median of as many steps without the profiler, interleaved
    bench::Peaks peaks;
    double peak_gflops = 0, bandwidth_gbps = 0;  // the roofline: FMA peak at `threads`, copy bandwidth
    std::vector<ProfileRow> kernels, nodes;      // sorted by self time, the longest first
    std::vector<ProfilePart> parts;              // kernels first, then the regions outside them
    int top = 15;
};

ProfileReport make_profile_report(const kernels::profile::Summary& summary, const bench::Peaks& peaks, int top);

// Roofline figures of one row: FLOP per byte, achieved GFLOP/s (flop / total time: a kernel's
// work includes the tables it calls), the roof min(peak, intensity * bandwidth) there.
struct Roofline {
    double intensity = 0, gflops = 0, gbps = 0, roof_gflops = 0;
    bool memory_bound = false;
};
Roofline roofline(const ProfileRow& row, const ProfileReport& report);

nlohmann::json profile_json(const ProfileReport& report);
std::string profile_table(const ProfileReport& report);
// Writes `png_path` (atomically: gnuplot draws a temporary that is renamed); throws
// mg::Error naming the path when gnuplot is missing or fails.
void draw_roofline(const ProfileReport& report, const std::string& png_path);

}  // namespace mg::tools
