// Run reports: <run_dir>/report/index.html from what a training run wrote.
//
//   <run_dir>/metrics.jsonl        one JSON object per line: "step" (required), "epoch", "time_s",
//                                  and scalar metrics ("loss_d", "d_real", "grad_norm/G/fc.weight",
//                                  nested objects are flattened with '/')
//   <run_dir>/config.json          the run's configuration (optional; a "bug" in its config goes
//                                  into the page's title)
//   health records                 {"step", "health": {"monitor", "message"}} lines of
//                                  metrics.jsonl: listed at the top of the page
//   <run_dir>/eval.json            minigen eval --json saved there: its numbers and protocol card
//                                  (optional; read as config.json is)
//   <run_dir>/samples/step_*.png   sample grids over time (optional)
//   <run_dir>/samples/surface_*.png  gan2d's decision surfaces (optional)
//
// Metrics are grouped into plots: losses together, D(x) and D(G(z)) together, gradient
// norms one panel per network (log scale, a colour and dash per tensor), any other metric
// one plot each; each plot has a "how to read this" caption. Plots are PNGs drawn by
// gnuplot when it is installed (Debian: gnuplot-nox), else SVGs drawn here. The page
// uses relative links only and loads nothing from elsewhere; the report directory can
// be copied or served as it is.
//
// The run directory may come from someone else, so its files are untrusted input:
// - metric names never reach the gnuplot script (its labels are sanitized copies, see
//   plot_label) and are HTML-escaped on the page and in SVGs;
// - metrics.jsonl and config.json must be regular files (a FIFO would block forever);
// - a line of metrics.jsonl that is not a JSON object with a numeric "step", is longer than
//   kMaxMetricsLineBytes, nests deeper than kMaxMetricsDepth, holds a number out of double's
//   range, or brings the count of different metrics over kMaxMetricSeries is an mg::Error
//   naming the file and the line: a damaged log should be seen, not half-plotted;
// - except the last line when it has no newline and does not parse: a run still writing
//   it, so it is skipped and counted in MetricsLog::warnings (printed on the page and by
//   the CLI on stderr);
// - config.json is read whole up to kMaxConfigBytes, nested at most kMaxMetricsDepth.
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

inline constexpr size_t kMaxMetricsLineBytes = 1 << 20;  // one record of metrics.jsonl
inline constexpr size_t kMaxMetricSeries = 2000;          // different metric names in one log
inline constexpr int kMaxMetricsDepth = 16;               // nesting of a record or of config.json
inline constexpr uint64_t kMaxConfigBytes = 4 << 20;

struct ReportOptions {
    std::string title = {};             // empty: "minigen run <directory name>"
    PlotFormat plots = PlotFormat::Auto;
    int64_t max_points_per_series = 4000;  // longer series keep each bucket's min and max
    bool messages = false;                 // on stderr: progress while a large log is read, skipped lines
};

// Writes <run_dir>/report/index.html and its plots; returns nothing, throws mg::Error.
void write_report(const std::string& run_dir, const ReportOptions& options = {});

// minigen report --compare: one page with two runs side by side (their model and bug, the
// health monitors that fired, each plot group with both runs overlaid, the last sample grid
// of each). Written to <run_a>/report/compare.html, or <out_dir>/index.html when out_dir is
// given; plot files are named compare_*. Returns the page's path. (tools/report_compare.cpp)
std::string write_compare_report(const std::string& run_a, const std::string& run_b, const std::string& out_dir = {},
                                 const ReportOptions& options = {});

// ---- the pieces (used by write_report; public for tests and the CLI) -----------------

struct MetricSeries {
    std::string name;
    std::vector<double> steps, values;  // the points where the metric was a number
    std::vector<double> null_steps;     // records where it was null (e.g. a NaN written as null)
};

// A health monitor that fired (a record {"step", "health": {"monitor", "message"}}).
struct HealthNote {
    double step = 0;
    std::string monitor, message;
};

struct MetricsLog {
    std::vector<MetricSeries> series;  // in order of first appearance; includes epoch and time_s
    std::vector<HealthNote> health;    // in the order logged
    int64_t records = 0;
    std::vector<std::string> warnings;  // lines skipped ("FILE:LINE: skipped ...")
    const MetricSeries* find(const std::string& name) const;
};

// Parses a metrics.jsonl file (keys of a record in sorted order); blank lines are skipped.
MetricsLog read_metrics(const std::string& path, bool progress = false);

struct PlotGroup {
    std::string title;
    std::string stem;                  // file name without extension, unique, [a-z0-9_-]
    std::vector<std::string> metrics;  // series names, in order
    bool log_y = false;
    bool wide = false;                 // many lines: the page's full width, legend at the side
    std::string legend_prefix;         // cut from the names in the legend ("grad_norm/G/")
    std::string caption;               // "how to read this": axes, healthy, failing
};

// Which metrics are plotted together ("step", "epoch" and "time_s" are not plotted): losses,
// D's outputs, one gradient-norm panel per network ("grad_norm/G", "grad_norm/G/<param>"),
// then any other metric alone.
std::vector<PlotGroup> group_metrics(const std::vector<std::string>& names);

// One line of a plot: a metric as one run logged it (run 0: the only run, or A; 1: B).
struct PlotLine {
    const MetricSeries* series = nullptr;
    int run = 0;
};

// A group's lines, ready to draw.
struct Plot {
    PlotGroup group;
    std::vector<PlotLine> lines;     // those with at least one point, metric by metric, A before B
    std::vector<std::string> runs;   // overlaid runs' names (legend "A: <name>"); empty for one run
    bool log_y = false;              // group.log_y and every value > 0
    double x_lo = 0, x_hi = 0;       // every run's steps, the same for every plot
    std::string file;                // written file name, relative to the page's directory
    std::string note;                // shown under the plot
};

// One Plot per group that has at least one point. One log: its metrics, one line each. Two
// logs (run_names: one per log): the metrics of either, each drawn once per run that logged
// it, in the same colour, run A solid and run B dashed; the caption says so, and names the
// metrics only one run logged (plotted for that run alone).
std::vector<Plot> collect_plots(const std::vector<const MetricsLog*>& logs, const std::vector<std::string>& run_names = {});

// Writes each plot's file into report_dir (gnuplot PNG, else SVG) and sets plot.file; removes
// the other format's stale file. gnuplot's script and data go to report_dir/plot-data/
// (<script_stem>.gp, <plot stem>.dat).
void draw_plots(std::vector<Plot>& plots, const std::string& report_dir, const ReportOptions& options,
                const std::string& script_stem = "plots");

// ---- the pages' parts, shared by write_report and write_compare_report ------------------

std::string html_escape(const std::string& s);
// The plots as figures, each with its "how to read this" caption.
std::string plots_html(const std::vector<Plot>& plots);
// The lines read_metrics skipped, one warning each ("" when none).
std::string warnings_html(const MetricsLog& log);
// The health monitors that fired, as a list ("" when none did).
std::string health_list_html(const MetricsLog& log);
// "300 records · epoch 2 · last step 300 · wall time 15.0 s" (HTML).
std::string run_summary_html(const MetricsLog& log);
// The sample grids <run_dir>/samples/step_*.png as a row of pictures linked relative to
// page_dir; only the newest one when last_only. "" when there are none.
std::string sample_grids_html(const std::string& run_dir, const std::string& page_dir, bool last_only);
// A whole page: title, the report's style sheet, body.
std::string page_html(const std::string& escaped_title, const std::string& body);
// What a run's config.json says: its model and its bug ("" when not there, or no config.json).
struct RunIdentity {
    std::string model, bug;
};
RunIdentity read_run_identity(const std::string& run_dir);
// A run's name on a page: its directory's name.
std::string run_name(const std::string& run_dir);
// Reads <run_dir>/metrics.jsonl, checking first that run_dir is a run directory.
MetricsLog read_run_metrics(const std::string& run_dir, bool messages);
void write_text_atomically(const std::string& path, const std::string& text);

// A metric name as a plot label in a gnuplot script: letters, digits and " _./:()+,=-" kept,
// anything else '?', at most 80 characters. Nothing in it can end a string or a command,
// or expand (no quotes, newlines, backquotes, '!', '@', '$', '\\').
std::string plot_label(const std::string& name);

// A name for a terminal or a page: control characters as '?', cut short past 200 bytes.
std::string printable(const std::string& name);

// ---- minigen report --table --------------------------------------------------------

enum class TableFormat { Text, Markdown, Csv };

struct TableOptions {
    int64_t every = 0;                  // > 0: the first row at or after each multiple of `every` steps
    std::vector<std::string> columns;   // empty: the losses and D's outputs that the log has
    TableFormat format = TableFormat::Text;
};

// Step-wise rows of the chosen metrics (one per logged step where at least one of them has a
// value; "-" where a metric has none, "null" where it was logged as null). Unknown columns
// are an mg::Error naming them.
std::string metrics_table(const MetricsLog& log, const TableOptions& options = {});

// Whether an executable named gnuplot is on PATH.
bool gnuplot_available();
// A string in single quotes for sh; one for gnuplot of text that plot_label made safe (or our
// own file names: anything else is an mg::Error).
std::string shell_quote(const std::string& s);
std::string gnuplot_quote(const std::string& safe);

}  // namespace mg::tools
