// Run reports: metrics.jsonl -> grouped plots (gnuplot PNG or our own SVG) -> index.html.
#include "tools/report.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "kernels/base.h"

namespace mg::tools {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;  // keeps the order keys were written in

// ---- small text helpers ------------------------------------------------------------

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// A relative URL for a path: unreserved characters and '/' kept, the rest %XX.
std::string url_path(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') out += char(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// gnuplot single-quoted string: a quote is written twice.
std::string gnuplot_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string to_lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string number(double v) { return fmt::format("{:.6g}", v); }

std::string duration(double seconds) {
    if (!(seconds >= 0)) return "-";
    int64_t s = int64_t(std::llround(seconds));
    if (s < 60) return fmt::format("{:.1f} s", seconds);
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

// Writes text to a temporary file next to `path`, then renames it over `path`.
void write_text_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        MG_CHECK(out.good(), "report: cannot write '{}'", tmp);
        out << text;
        out.flush();
        MG_CHECK(out.good(), "report: writing '{}' failed", tmp);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        MG_FAIL("report: cannot write '{}': {}", path, ec.message());
    }
}

// ---- plots: shared -------------------------------------------------------------------

// Plot size in pixels: two plots side by side on a 1200-pixel page.
constexpr int kPlotWidth = 560, kPlotHeight = 360;

struct Plot {
    PlotGroup group;
    std::vector<const MetricSeries*> series;  // those with at least one point
    bool log_y = false;                       // group.log_y and every value > 0
    double x_lo = 0, x_hi = 0;                // the whole run's steps, the same for every plot
    std::string file;                         // written file name, relative to report/
    std::string note;                         // shown under the plot
};

// Tick values at 1-2-5 multiples covering [lo, hi], about `target` of them; widens
// [lo, hi] to whole ticks.
std::vector<double> nice_ticks(double& lo, double& hi, int target) {
    if (!(hi > lo)) {
        double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw))), norm = raw / mag;
    double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
    lo = std::floor(lo / step + 1e-9) * step;
    hi = std::ceil(hi / step - 1e-9) * step;
    std::vector<double> ticks;
    for (int i = 0; lo + i * step <= hi + step * 1e-6 && i < 100; ++i) {
        double v = lo + i * step;
        ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    }
    return ticks;
}

// Colours of the lines (the familiar ten-colour palette).
const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Indices of the points drawn: all of them, or each bucket's min and max (in order)
// when there are more than max_points, so spikes survive the thinning.
std::vector<size_t> thin(const std::vector<double>& values, int64_t max_points) {
    const size_t n = values.size();
    std::vector<size_t> keep;
    if (int64_t(n) <= max_points) {
        for (size_t i = 0; i < n; ++i) keep.push_back(i);
        return keep;
    }
    const size_t buckets = size_t(std::max<int64_t>(max_points / 2, 1));
    for (size_t b = 0; b < buckets; ++b) {
        size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
        if (lo >= hi) continue;
        size_t mn = lo, mx = lo;
        for (size_t i = lo; i < hi; ++i) {
            if (values[i] < values[mn]) mn = i;
            if (values[i] > values[mx]) mx = i;
        }
        keep.push_back(std::min(mn, mx));
        if (mn != mx) keep.push_back(std::max(mn, mx));
    }
    return keep;
}

// ---- plots: SVG, drawn here ------------------------------------------------------------

std::string render_svg(const Plot& plot, int64_t max_points) {
    const double W = kPlotWidth, H = kPlotHeight, left = 64, right = W - 18, top = 34;
    const bool legend = plot.series.size() > 1;

    // Legend entries flow in rows under the x label (about 7 pixels per character).
    struct Entry { double x, y; };
    std::vector<Entry> entries;
    double lx = left, rows = legend ? 1 : 0;
    for (const MetricSeries* s : plot.series) {
        double w = 30 + 7.0 * double(s->name.size()) + 16;
        if (lx + w > right && lx > left) lx = left, rows += 1;
        entries.push_back({lx, rows});
        lx += w;
    }
    const double bottom = H - 44 - 18 * rows;

    double x_lo = plot.x_lo, x_hi = plot.x_hi;
    double y_lo = std::numeric_limits<double>::infinity(), y_hi = -y_lo;
    auto ty = [&](double v) { return plot.log_y ? std::log10(v) : v; };
    for (const MetricSeries* s : plot.series)
        for (double v : s->values) y_lo = std::min(y_lo, ty(v)), y_hi = std::max(y_hi, ty(v));
    std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 6);
    std::vector<double> y_ticks;
    if (plot.log_y) {
        y_lo = std::floor(y_lo);
        y_hi = std::max(std::ceil(y_hi), y_lo + 1);
        for (double e = y_lo; e <= y_hi + 1e-9; e += 1) y_ticks.push_back(e);
    } else {
        y_ticks = nice_ticks(y_lo, y_hi, 6);
    }
    auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
    auto py = [&](double y) { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); };

    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        W, H);
    svg += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", (left + right) / 2,
                       html_escape(plot.group.title + (plot.log_y ? " (log scale)" : "")));
    // Grid, ticks and their labels.
    for (double t : x_ticks) {
        double x = px(t);
        svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", x, top, bottom);
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, bottom + 16, number(t));
    }
    for (double t : y_ticks) {
        double y = py(t);
        svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e4e4e4\"/>\n", left, y, right, y);
        std::string label = plot.log_y ? number(std::pow(10.0, t)) : number(t);
        svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6, y + 4, label);
    }
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", left, top,
                       right - left, bottom - top);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", (left + right) / 2, bottom + 32);

    svg += fmt::format("<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\">\n", left, top, right - left, bottom - top);
    for (size_t k = 0; k < plot.series.size(); ++k) {
        const MetricSeries& s = *plot.series[k];
        const char* colour = kPalette[k % 10];
        std::vector<size_t> keep = thin(s.values, max_points);
        std::string points;
        for (size_t i : keep) points += fmt::format("{:.1f},{:.1f} ", px(s.steps[i]) - left, py(ty(s.values[i])) - top);
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.3\" points=\"{}\"/>\n", colour, points);
        if (s.values.size() < 50)
            for (size_t i : keep)
                svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", px(s.steps[i]) - left,
                                   py(ty(s.values[i])) - top, colour);
    }
    svg += "</svg>\n";
    if (legend)
        for (size_t k = 0; k < plot.series.size(); ++k) {
            const double ex = entries[k].x, ey = bottom + 44 + 18 * (entries[k].y - 1) + 6;
            svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2.5\"/>\n",
                               ex, ey, ex + 22, ey, kPalette[k % 10]);
            svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", ex + 28, ey + 4,
                               html_escape(plot.series[k]->name));
        }
    return svg + "</svg>\n";
}

// ---- plots: gnuplot ---------------------------------------------------------------------

// Draws every plot with one gnuplot run; returns "" or what gnuplot said when it failed.
std::string render_gnuplot(std::vector<Plot>& plots, const fs::path& report_dir, int64_t max_points) {
    fs::create_directories(report_dir / "plot-data");
    std::string script = fmt::format(
        "set terminal pngcairo noenhanced size {},{} font 'sans,9'\n"
        "set grid\nset key below horizontal reverse Left samplen 2 height 1.5\nset xlabel 'step' offset 0,0.4\nset format y '%g'\n",
        kPlotWidth, kPlotHeight);
    for (Plot& plot : plots) {
        const std::string data_file = "plot-data/" + plot.group.stem + ".dat";
        std::string data;
        for (size_t k = 0; k < plot.series.size(); ++k) {
            const MetricSeries& s = *plot.series[k];
            data += "# " + s.name + "\n";
            for (size_t i : thin(s.values, max_points)) data += fmt::format("{:.9g} {:.9g}\n", s.steps[i], s.values[i]);
            data += "\n\n";  // a new gnuplot data block
        }
        write_text_atomically((report_dir / data_file).string(), data);
        plot.file = plot.group.stem + ".png";
        script += "set output " + gnuplot_quote(plot.file) + "\n";
        script += "set title " + gnuplot_quote(plot.group.title + (plot.log_y ? " (log scale)" : "")) + "\n";
        script += plot.log_y ? "set logscale y\n" : "unset logscale y\n";
        script += plot.series.size() > 1 ? "set key\n" : "unset key\n";
        script += plot.x_hi > plot.x_lo ? fmt::format("set xrange [{:.9g}:{:.9g}]\n", plot.x_lo, plot.x_hi)
                                        : "set autoscale x\n";
        script += "plot ";
        for (size_t k = 0; k < plot.series.size(); ++k) {
            const MetricSeries& s = *plot.series[k];
            script += fmt::format("{}{} index {} using 1:2 with {} lw 1.3 lc rgb '{}' title {}", k ? ", " : "",
                                  k ? "''" : gnuplot_quote(data_file), k,
                                  s.values.size() < 50 ? "linespoints pt 7 ps 0.6" : "lines", kPalette[k % 10],
                                  gnuplot_quote(s.name));
        }
        script += "\n";
    }
    script += "unset output\n";
    write_text_atomically((report_dir / "plot-data/plots.gp").string(), script);

    const std::string command = "cd " + shell_quote(report_dir.string()) + " && gnuplot plot-data/plots.gp 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return "could not start gnuplot";
    std::string output;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe)) output += buf;
    int status = ::pclose(pipe);
    bool ok = status == 0;
    std::error_code ec;
    for (const Plot& plot : plots) ok = ok && fs::file_size(report_dir / plot.file, ec) > 0 && !ec;
    if (ok) return "";
    return output.empty() ? fmt::format("gnuplot exited with status {}", status) : output;
}

// ---- HTML ------------------------------------------------------------------------------

// Rows "key -> value" of a JSON config, nested keys joined with '.'.
void flatten_config(const json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& rows) {
    if (j.is_object() && !j.empty()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            flatten_config(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), rows);
        return;
    }
    rows.emplace_back(prefix.empty() ? "(value)" : prefix, j.is_string() ? j.get<std::string>() : j.dump());
}

struct Sample {
    std::string name;
    int64_t step = -1;  // -1: no number in the name
    int64_t width = 0, height = 0;  // from the PNG header; 0 when unreadable
};

// Width and height from a PNG's IHDR chunk (bytes 16-23), without decoding the image.
std::pair<int64_t, int64_t> png_size(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    unsigned char h[24] = {};
    in.read(reinterpret_cast<char*>(h), 24);
    if (in.gcount() != 24 || h[0] != 0x89 || h[1] != 'P' || h[12] != 'I' || h[13] != 'H') return {0, 0};
    auto be32 = [&](int o) { return int64_t(h[o]) << 24 | int64_t(h[o + 1]) << 16 | int64_t(h[o + 2]) << 8 | h[o + 3]; };
    return {be32(16), be32(20)};
}

// samples_dir/<prefix>NNN.png, oldest first ("step_" grids; gan2d's "surface_" pictures).
std::vector<Sample> find_samples(const fs::path& samples_dir, const std::string& prefix) {
    std::vector<Sample> out;
    std::error_code ec;
    if (!fs::is_directory(samples_dir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(samples_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name.rfind(prefix, 0) != 0 || entry.path().extension() != ".png") continue;
        Sample s{name};
        std::string digits;
        for (size_t i = prefix.size(); i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) digits += name[i];
        if (!digits.empty() && digits.size() < 18) s.step = std::stoll(digits);
        std::tie(s.width, s.height) = png_size(entry.path());
        out.push_back(s);
    }
    // Oldest first, newest last; names without a number after the numbered ones.
    std::sort(out.begin(), out.end(), [](const Sample& a, const Sample& b) {
        if ((a.step < 0) != (b.step < 0)) return b.step < 0;
        if (a.step != b.step) return a.step < b.step;
        return a.name < b.name;
    });
    return out;
}

// Widest a sample grid is shown (pixels); the page fits four across.
constexpr int64_t kSampleWidth = 272;

const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px auto; max-width: 1180px; padding: 0 12px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-family: monospace; }
td.key { font-family: monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 12px; }
.plots figure { margin: 0; }
.plots img { max-width: 100%; border: 1px solid #eee; display: block; }
.note { color: #a33; font-size: 12px; max-width: 560px; }
.samples { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; }
.samples figure { margin: 0; text-align: center; }
.samples img { image-rendering: pixelated; border: 1px solid #ddd; display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; margin-top: 2px; }
)";

}  // namespace

// ---- public ------------------------------------------------------------------------------

const MetricSeries* MetricsLog::find(const std::string& name) const {
    for (const MetricSeries& s : series)
        if (s.name == name) return &s;
    return nullptr;
}

MetricsLog read_metrics(const std::string& path) {
    std::ifstream in(path);
    MG_CHECK(in.good(), "report: cannot open '{}'", path);
    MetricsLog log;
    std::map<std::string, size_t> index;
    auto series_of = [&](const std::string& name) -> MetricSeries& {
        auto [it, added] = index.emplace(name, log.series.size());
        if (added) log.series.push_back(MetricSeries{name, {}, {}, 0});
        return log.series[it->second];
    };

    std::string line;
    int64_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        json record;
        try {
            record = json::parse(line);
        } catch (const json::parse_error& e) {
            MG_FAIL("report: {}:{}: not valid JSON ({})", path, line_no, e.what());
        }
        MG_CHECK(record.is_object(), "report: {}:{}: expected a JSON object, got {}", path, line_no, record.type_name());
        auto step_it = record.find("step");
        MG_CHECK(step_it != record.end() && step_it->is_number(), "report: {}:{}: no numeric \"step\" in the record",
                 path, line_no);
        const double step = step_it->get<double>();
        ++log.records;
        // Numbers become points; null counts as a missing value; nested objects are flattened.
        std::vector<std::pair<std::string, const json*>> todo;
        for (auto it = record.begin(); it != record.end(); ++it) todo.emplace_back(it.key(), &it.value());
        for (size_t i = 0; i < todo.size(); ++i) {
            const std::string name = todo[i].first;  // copies: todo may grow below
            const json* value = todo[i].second;
            if (name == "step") continue;
            if (value->is_object()) {
                for (auto it = value->begin(); it != value->end(); ++it) todo.emplace_back(name + "/" + it.key(), &it.value());
            } else if (value->is_number()) {
                double v = value->get<double>();
                MetricSeries& s = series_of(name);
                s.steps.push_back(step);
                s.values.push_back(v);
            } else if (value->is_null()) {
                series_of(name).nulls++;
            }
        }
    }
    MG_CHECK(!in.bad(), "report: reading '{}' failed", path);
    return log;
}

std::vector<PlotGroup> group_metrics(const std::vector<std::string>& names) {
    PlotGroup losses{"Losses", "losses", {}, false};
    PlotGroup d_out{"Discriminator outputs: D(x) and D(G(z))", "discriminator", {}, false};
    PlotGroup grads{"Gradient norms", "grad_norms", {}, true};
    std::vector<PlotGroup> others;
    std::map<std::string, int> stems = {{"losses", 1}, {"discriminator", 1}, {"grad_norms", 1}};
    for (const std::string& name : names) {
        const std::string low = to_lower(name);
        if (low == "step" || low == "epoch" || low == "time_s") continue;
        if (low.rfind("grad_norm", 0) == 0) {
            grads.metrics.push_back(name);
        } else if (low.find("loss") != std::string::npos) {
            losses.metrics.push_back(name);
        } else if (low.rfind("d_real", 0) == 0 || low.rfind("d_fake", 0) == 0 || low == "d(x)" || low == "d(g(z))") {
            d_out.metrics.push_back(name);
        } else {
            std::string stem = "metric_";
            for (char c : low) stem += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
            if (int n = stems[stem]++; n > 0) stem += fmt::format("_{}", n + 1);
            others.push_back(PlotGroup{name, stem, {name}, false});
        }
    }
    std::vector<PlotGroup> out;
    for (PlotGroup* g : {&losses, &d_out, &grads})
        if (!g->metrics.empty()) out.push_back(*g);
    out.insert(out.end(), others.begin(), others.end());
    return out;
}

bool gnuplot_available() {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const std::string candidate = dir + "/gnuplot";
        if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return true;
    }
    return false;
}

namespace {

// One Plot per group that has at least one point; all share the run's step range.
std::vector<Plot> collect_plots(const MetricsLog& log) {
    std::vector<std::string> names;
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
    for (const MetricSeries& s : log.series) {
        names.push_back(s.name);
        for (double step : s.steps) x_lo = std::min(x_lo, step), x_hi = std::max(x_hi, step);
    }
    std::vector<Plot> plots;
    for (const PlotGroup& g : group_metrics(names)) {
        Plot p{g, {}, false, x_lo, x_hi, "", ""};
        bool all_positive = true;
        for (const std::string& m : g.metrics)
            if (const MetricSeries* s = log.find(m); s && !s->values.empty()) {
                p.series.push_back(s);
                for (double v : s->values) all_positive = all_positive && v > 0;
            }
        if (p.series.empty()) continue;  // only nulls so far
        p.log_y = g.log_y && all_positive;
        plots.push_back(std::move(p));
    }
    return plots;
}

// Writes each plot's file (gnuplot PNG, else SVG) and sets plot.file; removes the other format's stale file.
void draw_plots(std::vector<Plot>& plots, const fs::path& report_dir, const ReportOptions& options) {
    const int64_t max_points = std::max<int64_t>(options.max_points_per_series, 2);
    const bool have_gnuplot = gnuplot_available();
    MG_CHECK(options.plots != PlotFormat::Png || have_gnuplot,
             "report: PNG plots need gnuplot, which is not on PATH (apt-get install gnuplot-nox), or ask for SVG plots");
    std::string gnuplot_error;
    bool use_gnuplot = !plots.empty() && options.plots != PlotFormat::Svg && have_gnuplot;
    if (use_gnuplot) {
        gnuplot_error = render_gnuplot(plots, report_dir, max_points);
        MG_CHECK(gnuplot_error.empty() || options.plots != PlotFormat::Png, "report: gnuplot failed: {}", gnuplot_error);
        use_gnuplot = gnuplot_error.empty();
    }
    std::error_code ec;
    for (Plot& p : plots) {
        const fs::path png = report_dir / (p.group.stem + ".png"), svg = report_dir / (p.group.stem + ".svg");
        if (use_gnuplot) {
            fs::remove(svg, ec);
            continue;
        }
        p.file = p.group.stem + ".svg";
        write_text_atomically(svg.string(), render_svg(p, max_points));
        fs::remove(png, ec);
        if (!gnuplot_error.empty()) p.note = "gnuplot failed, drawn as SVG instead: " + gnuplot_error;
    }
}

// "300 records · epoch 2 · last step 300 · wall time 15.0 s · report written ..."
std::string run_summary(const MetricsLog& log) {
    std::string meta = fmt::format("{} records", log.records);
    if (const MetricSeries* st = log.find("epoch"); st && !st->values.empty())
        meta += fmt::format(" &middot; epoch {}", number(st->values.back()));
    double last_step = -1;
    for (const MetricSeries& s : log.series)
        if (!s.steps.empty()) last_step = std::max(last_step, s.steps.back());
    if (last_step >= 0) meta += " &middot; last step " + number(last_step);
    if (const MetricSeries* t = log.find("time_s"); t && !t->values.empty())
        meta += " &middot; wall time " + duration(t->values.back());
    char stamp[64] = "";
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    return meta + " &middot; report written " + stamp;
}

std::string config_html(const json* config) {
    if (!config) return "<p class=\"meta\">No config.json in the run directory.</p>\n";
    std::vector<std::pair<std::string, std::string>> rows;
    flatten_config(*config, "", rows);
    std::string html = "<table>\n";
    for (const auto& [k, v] : rows)
        html += "<tr><td class=\"key\">" + html_escape(k) + "</td><td>" + html_escape(v) + "</td></tr>\n";
    return html + "</table>\n";
}

std::string metrics_html(const std::vector<Plot>& plots) {
    if (plots.empty()) return "<p class=\"meta\">No metrics recorded yet.</p>\n";
    std::string html =
        "<table>\n<tr><th>metric</th><th>last</th><th>min</th><th>max</th><th>points</th><th>null</th></tr>\n";
    for (const Plot& p : plots)
        for (const MetricSeries* s : p.series) {
            auto [mn, mx] = std::minmax_element(s->values.begin(), s->values.end());
            html += fmt::format(
                "<tr><td class=\"key\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}"
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                html_escape(s->name), number(s->values.back()), number(*mn), number(*mx), s->values.size(), s->nulls);
        }
    html += "</table>\n<div class=\"plots\">\n";
    for (const Plot& p : plots) {
        html += "<figure><img src=\"" + url_path(p.file) + "\" alt=\"" + html_escape(p.group.title) + "\">";
        if (!p.note.empty()) html += "<figcaption class=\"note\">" + html_escape(p.note) + "</figcaption>";
        html += "</figure>\n";
    }
    return html + "</div>\n";
}

std::string samples_html(const std::vector<Sample>& samples) {
    if (samples.empty()) return "<p class=\"meta\">No sample grids (samples/step_*.png) yet.</p>\n";
    std::string html = "<div class=\"samples\">\n";
    for (const Sample& s : samples) {
        const std::string caption = s.step >= 0 ? fmt::format("step {}", s.step) : s.name;
        const std::string link = url_path("../samples/" + s.name);
        // Whole-number upscaling keeps pixels square; wider grids are shrunk to the column.
        std::string size;
        if (s.width > 0 && s.height > 0) {
            const int64_t k = std::max<int64_t>(1, kSampleWidth / s.width);
            size = s.width * k <= kSampleWidth ? fmt::format(" width=\"{}\" height=\"{}\"", s.width * k, s.height * k)
                                               : fmt::format(" width=\"{}\"", kSampleWidth);
        }
        html += "<figure><a href=\"" + link + "\"><img src=\"" + link + "\"" + size + " alt=\"" + html_escape(caption) +
                "\"></a><figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
    }
    return html + "</div>\n";
}

// gan2d: real points (grey), generated points (red) over D's output (blue = fake, orange = real).
std::string surfaces_html(const std::vector<Sample>& surfaces) {
    if (surfaces.empty()) return "";
    return "<h2>Discriminator's decision surface</h2>\n<p class=\"meta\">Real points grey, generated points red; "
           "the background is D's probability of \"real\": blue near 0, orange near 1, white at 0.5.</p>\n" +
           samples_html(surfaces);
}

}  // namespace

void write_report(const std::string& run_dir, const ReportOptions& options) {
    std::error_code ec;
    MG_CHECK(fs::is_directory(run_dir, ec), "report: run directory '{}' does not exist", run_dir);
    const fs::path run(run_dir), report_dir = run / "report", metrics_path = run / "metrics.jsonl";
    MG_CHECK(fs::exists(metrics_path, ec), "report: '{}' not found: is '{}' a run directory?", metrics_path.string(),
             run_dir);
    const MetricsLog log = read_metrics(metrics_path.string());

    json config;
    const bool have_config = fs::exists(run / "config.json", ec);
    if (have_config) {
        std::ifstream in(run / "config.json");
        try {
            config = json::parse(in);
        } catch (const json::parse_error& e) {
            MG_FAIL("report: '{}': not valid JSON ({})", (run / "config.json").string(), e.what());
        }
    }

    fs::create_directories(report_dir, ec);
    MG_CHECK(!ec, "report: cannot create '{}': {}", report_dir.string(), ec.message());
    std::vector<Plot> plots = collect_plots(log);
    draw_plots(plots, report_dir, options);

    std::string dir_name = fs::absolute(run).lexically_normal().filename().string();
    if (dir_name.empty()) dir_name = fs::absolute(run).lexically_normal().parent_path().filename().string();
    const std::string title = html_escape(options.title.empty() ? "minigen run " + dir_name : options.title);
    const std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + title +
                             "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" + title + "</h1>\n" +
                             "<p class=\"meta\">" + run_summary(log) + "</p>\n" +
                             "<h2>Configuration</h2>\n" + config_html(have_config ? &config : nullptr) +
                             "<h2>Metrics</h2>\n" + metrics_html(plots) +
                             "<h2>Samples</h2>\n" + samples_html(find_samples(run / "samples", "step_")) +
                             surfaces_html(find_samples(run / "samples", "surface_")) + "</body>\n</html>\n";
    write_text_atomically((report_dir / "index.html").string(), html);
}

}  // namespace mg::tools
