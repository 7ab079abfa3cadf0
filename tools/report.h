// Run reports: <run_dir>/report/index.html from what a training run wrote.
//
//   <run_dir>/metrics.jsonl        one JSON object per line: "step" (required), "epoch", "time_s",
//                                  and scalar metrics ("loss_d", "d_real", "grad_norm/G/fc.weight",
//                                  nested objects are flattened with '/')
//   <run_dir>/config.json          the run's configuration (optional)
//   <run_dir>/samples/step_*.png   sample grids over time (optional)
//
// Metrics are grouped into plots: losses together, D(x) and D(G(z)) together, gradient
// norms together (log scale), any other metric one plot each. Plots are PNGs drawn by
// gnuplot when it is installed (Debian: gnuplot-nox), else SVGs drawn here. The page
// uses relative links only and loads nothing from elsewhere; the report directory can
// be copied or served as it is. A line of metrics.jsonl that is not a JSON object with
// a numeric "step" is an error naming the file and the line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mg::tools {

enum class PlotFormat {
    Auto,  // PNG by gnuplot when it is on PATH, else SVG
    Png,   // gnuplot; an error when it is missing
    Svg,   // drawn by minigen, no external program
};

struct ReportOptions {
    std::string title = {};             // empty: "minigen run <directory name>"
    PlotFormat plots = PlotFormat::Auto;
    int64_t max_points_per_series = 4000;  // SVG: longer series keep each bucket's min and max
};

// Writes <run_dir>/report/index.html and its plots; returns nothing, throws mg::Error.
void write_report(const std::string& run_dir, const ReportOptions& options = {});

// ---- the pieces (used by write_report; public for tests and the CLI) -----------------

struct MetricSeries {
    std::string name;
    std::vector<double> steps, values;  // the points where the metric was a number
    int64_t nulls = 0;                  // records where it was null (e.g. a NaN written as null)
};

struct MetricsLog {
    std::vector<MetricSeries> series;  // in order of first appearance; includes epoch and time_s
    int64_t records = 0;
    const MetricSeries* find(const std::string& name) const;
};

// Parses a metrics.jsonl file; blank lines are skipped.
MetricsLog read_metrics(const std::string& path);

struct PlotGroup {
    std::string title;
    std::string stem;                  // file name without extension, unique, [a-z0-9_-]
    std::vector<std::string> metrics;  // series names, in order
    bool log_y = false;
};

// Which metrics are plotted together ("step", "epoch" and "time_s" are not plotted).
std::vector<PlotGroup> group_metrics(const std::vector<std::string>& names);

// Whether an executable named gnuplot is on PATH.
bool gnuplot_available();

}  // namespace mg::tools
