// Run reports: metrics.jsonl -> grouped plots (gnuplot PNG or our own SVG) -> index.html.
#include "tools/report.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "core/io/input.h"
#include "kernels/base.h"
#include "models/eval/protocol.h"
#include "models/progress.h"

namespace mg::tools {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
            default:
                // Control characters are not allowed in XML (an SVG with one does not render).
                if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == '\x7f') out += "&#xFFFD;";
                else out += c;
        }
    }
    return out;
}

namespace {

// A relative URL for a path: unreserved characters and '/' kept, the rest %XX.
std::string url_path(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') out += char(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
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

}  // namespace

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

namespace {

// ---- plots: shared -------------------------------------------------------------------

// Plot size in pixels: two plots side by side on a 1200-pixel page; a wide plot takes the row.
constexpr int kPlotWidth = 560, kPlotHeight = 360, kWidePlotWidth = 1128, kWidePlotHeight = 400;

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

// Colours of the lines (the familiar ten-colour palette); past ten lines the dash changes
// too, so twenty gradient norms are twenty different lines.
const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* kSvgDashes[] = {"", "7,3", "2,2", "7,2,2,2"};  // gnuplot's dash types 1 to 4

struct LineStyle {
    std::string colour, label;  // an empty label: no legend entry
    int dash = 0;               // index into kSvgDashes; gnuplot dt dash + 1
    double width = 1.3;
};

// One style per line of the plot, then (overlaid runs) one legend-only entry per run.
// A gradient-norm panel draws the whole network's norm thick and black ("whole G") and its
// tensors by name without the common prefix; other plots name their series in full.
// Overlaid runs: a metric keeps its colour in every run, the dash says the run (A solid,
// B dashed), and the legend names each metric once.
std::vector<LineStyle> line_styles(const Plot& plot) {
    std::vector<LineStyle> styles;
    const std::string& prefix = plot.group.legend_prefix;
    const bool overlay = plot.runs.size() > 1;
    std::map<std::string, size_t> colour_of;  // metric -> its index among the coloured ones
    std::set<std::string> in_legend;
    for (const PlotLine& line : plot.lines) {
        const std::string& name = line.series->name;
        LineStyle st;
        if (!prefix.empty() && name + "/" == prefix) {
            st = {"#000000", "whole " + name.substr(name.rfind('/') + 1), 0, 2.6};
        } else {
            const size_t k = colour_of.emplace(name, colour_of.size()).first->second;
            std::string label = !prefix.empty() && name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
            st = {kPalette[k % 10], label, int(k / 10 % 4), 1.3};
        }
        if (overlay) {
            st.dash = line.run == 0 ? 0 : 1;
            if (!in_legend.insert(name).second) st.label.clear();
        }
        styles.push_back(st);
    }
    if (overlay)
        for (size_t r = 0; r < plot.runs.size(); ++r)
            styles.push_back({"#555555", fmt::format("{}: {}", char('A' + r % 26), plot.runs[r]), r == 0 ? 0 : 1, 1.3});
    return styles;
}

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
    const std::vector<LineStyle> styles = line_styles(plot);
    const bool wide = plot.group.wide, legend = styles.size() > 1;
    const double W = wide ? kWidePlotWidth : kPlotWidth, H = wide ? kWidePlotHeight : kPlotHeight, left = 64, top = 34;
    // The legend's entries: the styles that have a label.
    std::vector<size_t> keyed;
    for (size_t k = 0; k < styles.size(); ++k)
        if (!styles[k].label.empty()) keyed.push_back(k);

    // Legend: a column right of the plot (wide plots), else entries flowing in rows under
    // the x label (about 7 pixels per character).
    struct Entry { double x, y; };
    std::vector<Entry> entries;
    double right = W - 18, rows = 0;
    if (legend && wide) {
        // As many columns as the entries need, each as wide as the longest label (up to 40 characters).
        size_t longest = 0;
        for (size_t k : keyed) longest = std::max(longest, std::min<size_t>(styles[k].label.size(), 40));
        const size_t per_column = size_t((H - top - 12) / 16);
        const double column = 56 + 7.0 * double(longest);  // margin, line, gap, text
        const size_t columns = (keyed.size() + per_column - 1) / per_column;
        right = W - std::min(column * double(columns), W / 2);
        for (size_t k = 0; k < keyed.size(); ++k)
            entries.push_back({right + 14 + column * double(k / per_column), top + 6 + 16.0 * double(k % per_column)});
    } else if (legend) {
        double lx = left;
        rows = 1;
        for (size_t k : keyed) {
            double w = 30 + 7.0 * double(std::min<size_t>(styles[k].label.size(), 60)) + 16;
            if (lx + w > right && lx > left) lx = left, rows += 1;
            entries.push_back({lx, rows});
            lx += w;
        }
    }
    const double bottom = H - 44 - 18 * rows;
    if (legend && !wide)
        for (Entry& e : entries) e.y = bottom + 44 + 18 * (e.y - 1) + 6;

    double x_lo = plot.x_lo, x_hi = plot.x_hi;
    double y_lo = std::numeric_limits<double>::infinity(), y_hi = -y_lo;
    auto ty = [&](double v) { return plot.log_y ? std::log10(v) : v; };
    for (const PlotLine& line : plot.lines)
        for (double v : line.series->values) y_lo = std::min(y_lo, ty(v)), y_hi = std::max(y_hi, ty(v));
    // Values near the ends of double's range: scale so that hi - lo stays finite.
    if (!std::isfinite(y_hi - y_lo)) y_lo = std::max(y_lo, -1e307), y_hi = std::min(y_hi, 1e307);
    if (!std::isfinite(x_hi - x_lo)) x_lo = std::max(x_lo, -1e307), x_hi = std::min(x_hi, 1e307);
    std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 6);
    std::vector<double> y_ticks;
    if (plot.log_y) {
        y_lo = std::floor(y_lo);
        y_hi = std::max(std::ceil(y_hi), y_lo + 1);
        for (double e = y_lo; e <= y_hi + 1e-9; e += 1) y_ticks.push_back(e);
    } else {
        y_ticks = nice_ticks(y_lo, y_hi, 6);
    }
    // Computed as fractions first, so a range near double's limit does not overflow.
    auto px = [&](double x) { return left + (x / (x_hi - x_lo) - x_lo / (x_hi - x_lo)) * (right - left); };
    auto py = [&](double y) { return bottom - (y / (y_hi - y_lo) - y_lo / (y_hi - y_lo)) * (bottom - top); };

    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        W, H);
    svg += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n", (left + right) / 2,
                       html_escape(printable(plot.group.title) + (plot.log_y ? " (log scale)" : "")));
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
    for (size_t k = 0; k < plot.lines.size(); ++k) {
        const MetricSeries& s = *plot.lines[k].series;
        const LineStyle& st = styles[k];
        std::vector<size_t> keep = thin(s.values, max_points);
        std::string points;
        for (size_t i : keep) points += fmt::format("{:.1f},{:.1f} ", px(s.steps[i]) - left, py(ty(s.values[i])) - top);
        const std::string dash = st.dash ? fmt::format(" stroke-dasharray=\"{}\"", kSvgDashes[st.dash]) : "";
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{} points=\"{}\"/>\n", st.colour,
                           st.width, dash, points);
        if (s.values.size() < 50)
            for (size_t i : keep)
                svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", px(s.steps[i]) - left,
                                   py(ty(s.values[i])) - top, st.colour);
    }
    svg += "</svg>\n";
    if (legend)
        for (size_t e = 0; e < keyed.size(); ++e) {
            const LineStyle& st = styles[keyed[e]];
            const double ex = entries[e].x, ey = entries[e].y;
            const std::string dash = st.dash ? fmt::format(" stroke-dasharray=\"{}\"", kSvgDashes[st.dash]) : "";
            svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
                               ex, ey, ex + 22, ey, st.colour, st.width + 1, dash);
            svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", ex + 28, ey + 4, html_escape(printable(st.label)));
        }
    return svg + "</svg>\n";
}

// ---- plots: gnuplot ---------------------------------------------------------------------

// Draws every plot with one gnuplot run; returns "" or what gnuplot said when it failed.
// The script holds no text from the run directory but sanitized labels (plot_label): names
// could otherwise end a command ("\n!cmd" runs cmd in a shell) or expand (`cmd`, @macro).
std::string render_gnuplot(std::vector<Plot>& plots, const fs::path& report_dir, int64_t max_points,
                           const std::string& script_stem) {
    fs::create_directories(report_dir / "plot-data");
    std::string script = "set grid\nset xlabel 'step' offset 0,0.4\nset format y '%g'\n";
    for (Plot& plot : plots) {
        const std::string data_file = "plot-data/" + plot.group.stem + ".dat";
        const std::vector<LineStyle> styles = line_styles(plot);
        std::string data;
        for (const PlotLine& line : plot.lines) {
            const MetricSeries& s = *line.series;
            data += "# " + plot_label(s.name) + "\n";
            for (size_t i : thin(s.values, max_points)) data += fmt::format("{:.9g} {:.9g}\n", s.steps[i], s.values[i]);
            data += "\n\n";  // a new gnuplot data block
        }
        write_text_atomically((report_dir / data_file).string(), data);
        plot.file = plot.group.stem + ".png";
        const bool wide = plot.group.wide;
        script += fmt::format("set terminal pngcairo noenhanced size {},{} font 'sans,9'\n",
                              wide ? kWidePlotWidth : kPlotWidth, wide ? kWidePlotHeight : kPlotHeight);
        script += wide ? "set key outside right top vertical Left reverse samplen 3 spacing 1.1\n"
                       : "set key below horizontal Left reverse samplen 3 height 1.5\n";
        script += "set output " + gnuplot_quote(plot.file) + "\n";
        script += "set title " + gnuplot_quote(plot_label(plot.group.title) + (plot.log_y ? " (log scale)" : "")) + "\n";
        script += plot.log_y ? "set logscale y\n" : "unset logscale y\n";
        script += styles.size() > 1 ? "set key\n" : "unset key\n";
        script += plot.x_hi > plot.x_lo ? fmt::format("set xrange [{:.9g}:{:.9g}]\n", plot.x_lo, plot.x_hi)
                                        : "set autoscale x\n";
        script += "plot ";
        for (size_t k = 0; k < styles.size(); ++k) {
            const LineStyle& st = styles[k];
            const std::string title = st.label.empty() ? "notitle" : "title " + gnuplot_quote(plot_label(st.label));
            if (k >= plot.lines.size()) {  // a legend entry only (an overlaid run's dash)
                script += fmt::format(", NaN with lines lw {} dt {} lc rgb '{}' {}", st.width, st.dash + 1, st.colour, title);
                continue;
            }
            script += fmt::format("{}{} index {} using 1:2 with {} lw {} dt {} lc rgb '{}' {}", k ? ", " : "",
                                  k ? "''" : gnuplot_quote(data_file), k,
                                  plot.lines[k].series->values.size() < 50 ? "linespoints pt 7 ps 0.6" : "lines", st.width,
                                  st.dash + 1, st.colour, title);
        }
        script += "\n";
    }
    script += "unset output\n";
    const std::string script_file = "plot-data/" + script_stem + ".gp";
    write_text_atomically((report_dir / script_file).string(), script);

    const std::string command = "cd " + shell_quote(report_dir.string()) + " && gnuplot " + shell_quote(script_file) + " 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return "could not start gnuplot";
    std::string output;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe))
        if (output.size() < 4096) output += buf;
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
    rows.emplace_back(prefix.empty() ? "(value)" : prefix,
                      io::quote_short(j.is_string() ? j.get<std::string>() : j.dump(), 300));
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
.plots figure figcaption { max-width: 560px; }
.plots figure.wide figcaption { max-width: 1128px; }
.note { color: #a33; font-size: 12px; max-width: 560px; }
.warn { color: #a33; }
.read { font-size: 13px; color: #444; max-width: 1128px; }
.samples { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; }
.samples figure { margin: 0; text-align: center; }
.samples img { image-rendering: pixelated; border: 1px solid #ddd; display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; margin-top: 2px; }
figcaption b, p.read b { color: #333; }
.runs { display: flex; gap: 24px; }
.runs .run { flex: 1; min-width: 0; }
)";

}  // namespace

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// A gnuplot single-quoted string of text that plot_label made safe (or our own file names).
std::string gnuplot_quote(const std::string& safe) {
    MG_CHECK(safe.find_first_of("'\n\r`!@$\\") == std::string::npos, "report: unsafe gnuplot text {}",
             io::quote_short(printable(safe)));
    return fmt::format("'{}'", safe);
}

// ---- public ------------------------------------------------------------------------------

const MetricSeries* MetricsLog::find(const std::string& name) const {
    for (const MetricSeries& s : series)
        if (s.name == name) return &s;
    return nullptr;
}

MetricsLog read_metrics(const std::string& path, bool progress) {
    io::require_regular_file(path, "report:");
    std::ifstream in(path, std::ios::binary);
    MG_CHECK(in.good(), "report: cannot open '{}'", path);
    std::error_code ec;
    const uint64_t file_bytes = fs::file_size(path, ec);
    MetricsLog log;
    std::map<std::string, size_t> index;
    auto series_of = [&](const std::string& name, int64_t line_no) -> MetricSeries& {
        auto [it, added] = index.emplace(name, log.series.size());
        if (added) {
            MG_CHECK(log.series.size() < kMaxMetricSeries,
                     "report: {}:{}: more than {} different metrics in the log (the last: {}); a report draws at most that many",
                     path, line_no, kMaxMetricSeries, io::quote_short(printable(name)));
            log.series.push_back(MetricSeries{name, {}, {}, {}});
        }
        return log.series[it->second];
    };
    // Reading a large log takes seconds: say how far it is (in MB).
    constexpr uint64_t kProgressBytes = 32 << 20, kMB = 1 << 20;
    std::optional<models::ProgressLine> bar;
    if (progress && file_bytes >= kProgressBytes)
        bar.emplace("report: reading " + fs::path(path).filename().string(), int64_t(file_bytes / kMB), 1, "MB");

    // getline into a fixed buffer: a longer line is refused without being read whole.
    std::vector<char> buf(kMaxMetricsLineBytes + 1);
    int64_t line_no = 0;
    uint64_t bytes_read = 0;
    while (true) {
        in.getline(buf.data(), std::streamsize(buf.size()));
        const std::streamsize got = in.gcount();  // with the newline when there was one
        const bool at_end = in.eof();
        if (at_end && got == 0) break;
        ++line_no;
        MG_CHECK(at_end || !in.fail(), "report: {}:{}: a line longer than {} bytes; is this a metrics log?", path,
                 line_no, kMaxMetricsLineBytes);
        bytes_read += uint64_t(got);
        if (bar) bar->update(int64_t(bytes_read / kMB), "");
        const std::string_view line(buf.data(), size_t(at_end ? got : got - 1));
        if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
            const std::string where = fmt::format("report: {}:{}", path, line_no);
            json record;
            try {
                record = io::parse_json(line, where, {.max_depth = kMaxMetricsDepth, .max_bytes = kMaxMetricsLineBytes});
            } catch (const Error& e) {
                // The last line without its newline is a record still being written: skip it
                // (unless it is too deep to be one of ours).
                if (!at_end || io::json_depth(line) > kMaxMetricsDepth) throw;
                log.warnings.push_back(where + ": skipped the last line, which is cut short (is the run still writing it?)");
                break;
            }
            MG_CHECK(record.is_object(), "{}: expected a JSON object, got {}", where, record.type_name());
            auto step_it = record.find("step");
            MG_CHECK(step_it != record.end() && step_it->is_number(), "{}: no numeric \"step\" in the record", where);
            const double step = step_it->get<double>();
            ++log.records;
            if (auto h = record.find("health"); h != record.end() && h->is_object()) {
                auto text = [&](const char* key) {
                    auto it = h->find(key);
                    return it != h->end() && it->is_string() ? it->get<std::string>() : std::string("?");
                };
                log.health.push_back({step, text("monitor"), text("message")});
            }
            // Numbers become points; null counts as a missing value; nested objects are flattened.
            std::vector<std::pair<std::string, const json*>> todo;
            for (auto it = record.begin(); it != record.end(); ++it) todo.emplace_back(it.key(), &it.value());
            for (size_t i = 0; i < todo.size(); ++i) {
                const std::string name = todo[i].first;  // copies: todo may grow below
                const json* value = todo[i].second;
                if (name == "step") continue;
                if (value->is_object()) {
                    for (auto it = value->begin(); it != value->end(); ++it)
                        todo.emplace_back(name + "/" + it.key(), &it.value());
                } else if (value->is_number()) {
                    MetricSeries& s = series_of(name, line_no);
                    s.steps.push_back(step);
                    s.values.push_back(value->get<double>());
                } else if (value->is_null()) {
                    series_of(name, line_no).null_steps.push_back(step);
                }
            }
        }
        if (at_end) break;
    }
    MG_CHECK(!in.bad(), "report: reading '{}' failed", path);
    if (bar) bar->finish(int64_t(bytes_read / kMB), fmt::format("{} records", log.records));
    return log;
}

std::string plot_label(const std::string& name) {
    std::string out;
    for (char c : name.substr(0, 80)) out += std::isalnum(static_cast<unsigned char>(c)) || std::strchr(" _./:()+,=-", c) ? c : '?';
    return name.size() > 80 ? out + "..." : out;
}

std::string printable(const std::string& name) {
    std::string out = name.size() > 200 ? name.substr(0, 200) + "..." : name;
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') c = '?';
    return out;
}

namespace {

// Captions: "how to read this" for each kind of plot. The axes, then what a healthy run
// shows, then what trouble looks like.
const std::map<std::string, std::string> kMetricCaptions = {
    {"resolution", "<b>y</b>: the progressive GAN's current image size in pixels (progan): it doubles at each "
                   "fade-in. The schedule sets the steps; a flat line is a stable phase, a step up a new level."},
    {"alpha", "<b>y</b>: the fade-in weight of the newest level (progan): rises linearly from 0 to 1 during a "
              "fade, 1 while stable. The samples of a fade are blends of the two resolutions."},
    {"fid", "<b>y</b>: Fr&eacute;chet distance between feature statistics of real and generated images (lower is "
            "better). <b>Healthy</b>: falls quickly, then slowly. <b>Failing</b>: rises or jumps (collapse, divergence)."},
    {"modes_covered", "<b>y</b>: how many of the toy's modes hold at least 1% of 2,500 samples. <b>Healthy</b>: climbs to "
                      "all of them and stays. <b>Failing</b>: stuck below, or falling: mode collapse, G hopping between modes."},
    {"hq_fraction", "<b>y</b>: the fraction of samples within 3 standard deviations of some mode. <b>Healthy</b>: rises "
                    "toward 1 and stays. <b>Failing</b>: falls or swings: points between modes, or G moving around."},
    {"images_per_s", "<b>y</b>: training throughput. <b>Healthy</b>: flat. Dips mean the machine was busy or an "
                     "evaluation ran; they say nothing about the model."},
    {"grad_norm_xhat", "<b>y</b>: the mean norm of D's input gradient at the penalty's points. WGAN-GP pulls it toward 1, "
                       "R1 toward 0 on real data. <b>Failing</b>: far from its target and growing."},
    {"lr", "<b>y</b>: the learning rate the optimizer used at that step (the schedule)."},
    {"r1", "<b>y</b>: the R1 penalty E&#8214;&nabla;<sub>x</sub> D(x)&#8214;&sup2; on real data (D's logit); loss_d "
           "includes r1_gamma/2 times it. <b>Healthy</b>: small and steady: D is flat where the data is. <b>Failing</b>: "
           "growing: D sharpening around the data."},
    {"gp", "<b>y</b>: the WGAN-GP penalty E[(&#8214;&nabla;D(x&#770;)&#8214; &minus; 1)&sup2;]; loss_d includes gp_weight "
           "times it. <b>Healthy</b>: small. <b>Failing</b>: large or growing: the critic is far from 1-Lipschitz."},
};

std::string metric_caption(const std::string& name) {
    std::string low = to_lower(name);
    if (auto it = kMetricCaptions.find(low); it != kMetricCaptions.end()) return "<b>x</b>: step. " + it->second;
    if (low.find("accuracy") != std::string::npos)
        return "<b>x</b>: step; <b>y</b>: a fraction in [0, 1], higher is better. <b>Healthy</b>: rises and levels off.";
    return "<b>x</b>: step; <b>y</b>: the value of this metric as logged. Look for trends and sudden jumps.";
}

const char* kLossCaption =
    "<b>x</b>: step; <b>y</b>: each network's loss (for the default BCE loss, in nats). <b>loss_d</b>: D's loss on a "
    "real and a generated batch; <b>loss_g</b>: G's (non-saturating) loss. <b>Healthy</b>: both settle and wobble around "
    "a level; where D cannot tell real from fake (D = 1/2) loss_d = 2 log 2 &asymp; 1.39 and loss_g = log 2 &asymp; "
    "0.69. <b>Failing</b>: loss_d falls toward 0 while loss_g climbs (D has won, G learns little), or ever wider "
    "swings. Losses do not show mode collapse: look at the samples.";
const char* kDiscriminatorCaption =
    "<b>x</b>: step; <b>y</b>: D's mean probability of &ldquo;real&rdquo; on a real batch (<b>d_real</b>, D(x)) and on "
    "a generated one (<b>d_fake</b>, D(G(z))), both before D's update (<b>d_fake_after</b>: the fakes again after it, "
    "what G's step sees). <b>Healthy</b>: both near 0.5, d_real a little above d_fake: D can "
    "barely tell them apart. <b>Failing</b>: d_real near 1 and d_fake near 0 for long: D separates them perfectly and "
    "G's signal fades; both jumping between 0 and 1: the two networks oscillate.";

std::string grad_norm_caption(const std::string& network) {
    return fmt::format(
        "<b>x</b>: step; <b>y</b> (log scale): the L2 norm of the gradient of each of {0}'s parameter tensors (colour and "
        "dash per tensor, named without &ldquo;grad_norm/{0}/&rdquo;) and of the whole of {0} (thick black). "
        "<b>Healthy</b>: flat bands that stay within a power of ten or two of where they started. <b>Failing</b>: a "
        "steady climb by powers of ten (exploding: lower the learning rate, add spectral norm or R1), a fall toward 0 "
        "(vanishing: D saturated, or dead units), or spikes that line up with jumps in the losses.",
        html_escape(printable(network)));
}

}  // namespace

std::vector<PlotGroup> group_metrics(const std::vector<std::string>& names) {
    PlotGroup losses{"Losses", "losses", {}, false, false, "", kLossCaption};
    PlotGroup d_out{"Discriminator outputs: D(x) and D(G(z))", "discriminator", {}, false, false, "", kDiscriminatorCaption};
    PlotGroup grads{"Gradient norms", "grad_norms", {}, true, false, "", ""};
    std::vector<PlotGroup> networks;  // "grad_norm/<network>[/<tensor>]", one panel each
    std::vector<PlotGroup> others;
    std::set<std::string> stems = {"losses", "discriminator", "grad_norms"};
    // A file name of [a-z0-9_-], at most 60 characters, and unique (a number added if need be).
    auto unique_stem = [&](const std::string& base_name) {
        std::string base;
        for (char c : to_lower(base_name).substr(0, 60)) base += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
        std::string stem = base;
        for (int n = 2; !stems.insert(stem).second; ++n) stem = fmt::format("{}_{}", base, n);
        return stem;
    };
    for (const std::string& name : names) {
        const std::string low = to_lower(name);
        if (low == "step" || low == "epoch" || low == "time_s") continue;
        if (low.rfind("grad_norm/", 0) == 0 && name.size() > 10) {
            const std::string network = name.substr(10, name.find('/', 10) - 10);
            auto it = std::find_if(networks.begin(), networks.end(),
                                   [&](const PlotGroup& g) { return g.legend_prefix == "grad_norm/" + network + "/"; });
            if (it == networks.end()) {
                networks.push_back(PlotGroup{"Gradient norms of " + network, unique_stem("grad_norms_" + network), {},
                                             true, true, "grad_norm/" + network + "/", grad_norm_caption(network)});
                it = networks.end() - 1;
            }
            // The whole network's norm first, so it is drawn and listed first.
            if (name == "grad_norm/" + network) it->metrics.insert(it->metrics.begin(), name);
            else it->metrics.push_back(name);
        } else if (low.rfind("grad_norm", 0) == 0) {
            grads.metrics.push_back(name);
            grads.caption = "<b>x</b>: step. " + kMetricCaptions.at("grad_norm_xhat");
        } else if (low.find("loss") != std::string::npos) {
            losses.metrics.push_back(name);
        } else if (low.rfind("d_real", 0) == 0 || low.rfind("d_fake", 0) == 0 || low == "d(x)" || low == "d(g(z))") {
            d_out.metrics.push_back(name);
        } else {
            others.push_back(PlotGroup{name, unique_stem("metric_" + name), {name}, false, false, "", metric_caption(name)});
        }
    }
    // D(x) before D(G(z)), whatever order the log has them in.
    std::stable_partition(d_out.metrics.begin(), d_out.metrics.end(),
                          [](const std::string& m) { return to_lower(m).rfind("d_fake", 0) != 0 && to_lower(m) != "d(g(z))"; });
    std::vector<PlotGroup> out;
    for (PlotGroup* g : {&losses, &d_out})
        if (!g->metrics.empty()) out.push_back(*g);
    out.insert(out.end(), networks.begin(), networks.end());
    if (!grads.metrics.empty()) out.push_back(grads);
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

std::vector<Plot> collect_plots(const std::vector<const MetricsLog*>& logs, const std::vector<std::string>& run_names) {
    const bool overlay = logs.size() > 1;
    MG_CHECK(!overlay || run_names.size() == logs.size(), "report: {} logs to overlay but {} run names", logs.size(),
             run_names.size());
    std::vector<std::string> names;  // every log's metrics, in order of first appearance
    std::set<std::string> seen;
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
    for (const MetricsLog* log : logs)
        for (const MetricSeries& s : log->series) {
            if (seen.insert(s.name).second) names.push_back(s.name);
            for (double step : s.steps) x_lo = std::min(x_lo, step), x_hi = std::max(x_hi, step);
        }
    std::vector<Plot> plots;
    for (const PlotGroup& g : group_metrics(names)) {
        Plot p{g, {}, overlay ? run_names : std::vector<std::string>{}, false, x_lo, x_hi, "", ""};
        bool all_positive = true;
        std::vector<std::vector<std::string>> only_in(logs.size());  // metrics only that run has points of
        for (const std::string& m : g.metrics) {
            std::vector<int> runs_with_points;
            for (size_t r = 0; r < logs.size(); ++r)
                if (const MetricSeries* s = logs[r]->find(m); s && !s->values.empty()) {
                    p.lines.push_back({s, int(r)});
                    runs_with_points.push_back(int(r));
                    for (double v : s->values) all_positive = all_positive && v > 0;
                }
            if (overlay && runs_with_points.size() == 1) only_in[size_t(runs_with_points[0])].push_back(m);
        }
        if (p.lines.empty()) continue;  // only nulls so far
        p.log_y = g.log_y && all_positive;
        if (overlay) {
            std::string runs;
            for (size_t r = 0; r < run_names.size(); ++r)
                runs += fmt::format("{}<b>{}</b>: {} ({})", r ? ", " : "", char('A' + r % 26),
                                    html_escape(printable(run_names[r])), r == 0 ? "solid" : "dashed");
            p.group.caption += " <b>Two runs</b>: " + runs + "; a metric has the same colour in both.";
            for (size_t r = 0; r < only_in.size(); ++r) {
                if (only_in[r].empty()) continue;
                std::string list;
                for (const std::string& m : only_in[r]) list += (list.empty() ? "" : ", ") + html_escape(printable(m));
                p.group.caption += fmt::format(" Only run {} logged {}: drawn for that run alone.", char('A' + r % 26), list);
            }
        }
        plots.push_back(std::move(p));
    }
    return plots;
}

void draw_plots(std::vector<Plot>& plots, const std::string& report_dir_name, const ReportOptions& options,
                const std::string& script_stem) {
    const fs::path report_dir(report_dir_name);
    const int64_t max_points = std::max<int64_t>(options.max_points_per_series, 2);
    const bool have_gnuplot = gnuplot_available();
    MG_CHECK(options.plots != PlotFormat::Png || have_gnuplot,
             "report: PNG plots need gnuplot, which is not on PATH (apt-get install gnuplot-nox), or ask for SVG plots");
    std::string gnuplot_error;
    bool use_gnuplot = !plots.empty() && options.plots != PlotFormat::Svg && have_gnuplot;
    if (use_gnuplot) {
        gnuplot_error = render_gnuplot(plots, report_dir, max_points, script_stem);
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

std::string run_summary_html(const MetricsLog& log) {
    std::string meta = fmt::format("{} records", log.records);
    if (const MetricSeries* st = log.find("epoch"); st && !st->values.empty())
        meta += fmt::format(" &middot; epoch {}", number(st->values.back()));
    double last_step = -1;
    for (const MetricSeries& s : log.series)
        if (!s.steps.empty()) last_step = std::max(last_step, s.steps.back());
    if (last_step >= 0) meta += " &middot; last step " + number(last_step);
    if (const MetricSeries* t = log.find("time_s"); t && !t->values.empty())
        meta += " &middot; wall time " + duration(t->values.back());
    return meta;
}

namespace {

// "300 records · epoch 2 · last step 300 · wall time 15.0 s · report written ..."
std::string run_summary(const MetricsLog& log) {
    std::string meta = run_summary_html(log);
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

// <run_dir>/eval.json (minigen eval --json saved there): its numbers, and under them the
// protocol card they were computed under.
std::string evaluation_html(const json* eval) {
    if (!eval) return "";
    std::string html = "<h2>Evaluation</h2>\n<table>\n";
    for (const auto& [k, v] : eval->items())
        if (v.is_number())
            html += "<tr><td class=\"key\">" + html_escape(printable(k)) + "</td><td class=\"num\">" +
                    number(v.get<double>()) + "</td></tr>\n";
    html += "</table>\n";
    if (!eval->contains("protocol") || !(*eval)["protocol"].is_object())
        return html + "<p class=\"meta warn\">eval.json has no protocol card: rerun minigen eval.</p>\n";
    if ((*eval)["protocol"].dump().size() > eval::kMaxProtocolCardBytes)
        return html + "<p class=\"meta warn\">eval.json's protocol card is too large to be one.</p>\n";
    return html + "<p class=\"meta\">Protocol card: what these numbers depend on besides the model (minigen eval "
                  "--compare refuses to set results side by side when their cards differ).</p>\n" +
           config_html(&(*eval)["protocol"]);
}

std::string metrics_html(const std::vector<Plot>& plots) {
    if (plots.empty()) return "<p class=\"meta\">No metrics recorded yet.</p>\n";
    std::string html =
        "<table>\n<tr><th>metric</th><th>last</th><th>min</th><th>max</th><th>points</th><th>null</th></tr>\n";
    for (const Plot& p : plots)
        for (const PlotLine& line : p.lines) {
            const MetricSeries* s = line.series;
            auto [mn, mx] = std::minmax_element(s->values.begin(), s->values.end());
            html += fmt::format(
                "<tr><td class=\"key\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}"
                "</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                html_escape(printable(s->name)), number(s->values.back()), number(*mn), number(*mx), s->values.size(),
                s->null_steps.size());
        }
    return html + "</table>\n" + plots_html(plots);
}

}  // namespace

std::string plots_html(const std::vector<Plot>& plots) {
    std::string html = "<div class=\"plots\">\n";
    for (const Plot& p : plots) {
        html += std::string(p.group.wide ? "<figure class=\"wide\">" : "<figure>") + "<img src=\"" + url_path(p.file) +
                "\" alt=\"" + html_escape(printable(p.group.title)) + "\">";
        if (!p.note.empty()) html += "<figcaption class=\"note\">" + html_escape(p.note) + "</figcaption>";
        // The caption is our own HTML (names in it were escaped where it was made).
        html += "<figcaption>How to read this: " + p.group.caption + "</figcaption></figure>\n";
    }
    return html + "</div>\n";
}

namespace {

const char* kSamplesCaption =
    "How to read this: each grid holds images G drew (from fresh noise, with the averaged generator when the run "
    "keeps one) at the step shown, oldest first. <b>Healthy</b>: shapes first, then detail, and variety within each "
    "grid. <b>Failing</b>: many near-identical images (mode collapse), the kind of image the grid holds jumping from "
    "one grid to the next (oscillation), or noise and flat colour that never improve (divergence).";

// The pictures in a row, each linked to its file (link_dir: the samples folder relative to
// the page), captioned with its step.
std::string pictures_html(const std::vector<Sample>& samples, const std::string& link_dir = "../samples") {
    std::string html = "<div class=\"samples\">\n";
    for (const Sample& s : samples) {
        const std::string caption = s.step >= 0 ? fmt::format("step {}", s.step) : s.name;
        const std::string link = url_path(link_dir + "/" + s.name);
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

std::string samples_html(const std::vector<Sample>& samples) {
    if (samples.empty()) return "<p class=\"meta\">No sample grids (samples/step_*.png) yet.</p>\n";
    return "<p class=\"read\">" + std::string(kSamplesCaption) + "</p>\n" + pictures_html(samples);
}

// gan2d: real points (grey), generated points (red) over D's output (blue = fake, orange = real).
std::string surfaces_html(const std::vector<Sample>& surfaces) {
    if (surfaces.empty()) return "";
    std::string html =
        "<h2>Discriminator's decision surface</h2>\n<p class=\"read\">How to read this: both axes are the plane the "
        "data lives in. Real points grey, generated points red; the background is D(x), D's probability that a point "
        "is real (the colour bar): blue near 0 (&ldquo;fake&rdquo;), white at 0.5, orange near 1 (&ldquo;real&rdquo;). "
        "<b>Healthy</b>: red covers every grey cluster and the background turns pale: D cannot tell. <b>Failing</b>: "
        "orange patches over grey clusters with no red on them (modes G misses: mode collapse), or red points sitting "
        "in deep blue (D rejects them, and G only feels D's slope where its points stand).</p>\n";
    return html + pictures_html(surfaces);
}

// The monitors that fired (models/health.h), at the top of the page.
std::string health_html(const MetricsLog& log) {
    if (log.health.empty()) return "";
    return "<h2>Health</h2>\n" + health_list_html(log);
}

// config.json's "config"."bug" (models/bugs.h) and "model", printable; "" when not there.
RunIdentity identity_of(const json* config) {
    RunIdentity id;
    if (config == nullptr || !config->is_object()) return id;
    if (auto m = config->find("model"); m != config->end() && m->is_string()) id.model = printable(m->get<std::string>());
    auto c = config->find("config");
    if (c == config->end() || !c->is_object()) return id;
    if (auto bug = c->find("bug"); bug != c->end() && bug->is_string()) id.bug = printable(bug->get<std::string>());
    return id;
}

// The run's bug for the title: " (bug: NAME)", or "".
std::string bug_in_title(const json* config) {
    const std::string bug = identity_of(config).bug;
    return bug.empty() ? "" : " (bug: " + bug + ")";
}

}  // namespace

std::string health_list_html(const MetricsLog& log) {
    if (log.health.empty()) return "";
    std::string html = "<ul class=\"health\">\n";
    for (const HealthNote& h : log.health)
        html += fmt::format("<li><b>{}</b> at step {}: {}</li>\n", html_escape(printable(h.monitor)), h.step,
                            html_escape(printable(h.message)));
    return html + "</ul>\n";
}

std::string sample_grids_html(const std::string& run_dir, const std::string& page_dir, bool last_only) {
    std::vector<Sample> grids = find_samples(fs::path(run_dir) / "samples", "step_");
    std::erase_if(grids, [](const Sample& s) { return s.step < 0; });
    if (grids.empty()) return "";
    if (last_only) grids.erase(grids.begin(), grids.end() - 1);
    std::error_code ec;
    const fs::path link = fs::relative(fs::absolute(fs::path(run_dir) / "samples"), fs::absolute(page_dir), ec);
    return pictures_html(grids, ec || link.empty() ? fs::absolute(fs::path(run_dir) / "samples").string() : link.string());
}

std::string warnings_html(const MetricsLog& log) {
    std::string html;
    for (const std::string& w : log.warnings) html += "<p class=\"meta warn\">" + html_escape(printable(w)) + "</p>\n";
    return html;
}

std::string page_html(const std::string& escaped_title, const std::string& body) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escaped_title +
           "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" + escaped_title + "</h1>\n" + body +
           "</body>\n</html>\n";
}

namespace {

// A run's config.json or eval.json when it has one (read as untrusted input), else null.
std::optional<json> read_run_json(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec) && !fs::is_symlink(path, ec)) return std::nullopt;
    return io::parse_json(io::read_text_file(path.string(), "report:", kMaxConfigBytes), "report: " + path.string(),
                          {.max_depth = kMaxMetricsDepth, .max_bytes = kMaxConfigBytes});
}


}  // namespace


MetricsLog read_run_metrics(const std::string& run_dir, bool messages) {
    std::error_code ec;
    MG_CHECK(fs::is_directory(run_dir, ec), "report: run directory '{}' does not exist", run_dir);
    const fs::path metrics_path = fs::path(run_dir) / "metrics.jsonl";
    MG_CHECK(fs::exists(metrics_path, ec) || fs::is_symlink(metrics_path, ec),
             "report: '{}' not found: is '{}' a run directory?", metrics_path.string(), run_dir);
    MetricsLog log = read_metrics(metrics_path.string(), messages);
    if (messages)
        for (const std::string& w : log.warnings) std::fprintf(stderr, "%s\n", printable(w).c_str());
    return log;
}

std::string run_name(const std::string& run_dir) {
    const fs::path path = fs::absolute(run_dir).lexically_normal();
    const std::string name = path.filename().string();
    return name.empty() ? path.parent_path().filename().string() : name;
}

RunIdentity read_run_identity(const std::string& run_dir) {
    const std::optional<json> config = read_run_json(fs::path(run_dir) / "config.json");
    return identity_of(config ? &*config : nullptr);
}

void write_report(const std::string& run_dir, const ReportOptions& options) {
    const fs::path run(run_dir), report_dir = run / "report";
    const MetricsLog log = read_run_metrics(run_dir, options.messages);
    const std::optional<json> config = read_run_json(run / "config.json");
    const std::optional<json> eval = read_run_json(run / "eval.json");

    std::error_code ec;
    fs::create_directories(report_dir, ec);
    MG_CHECK(!ec, "report: cannot create '{}': {}", report_dir.string(), ec.message());
    std::vector<Plot> plots = collect_plots({&log});
    draw_plots(plots, report_dir.string(), options);

    const std::string title = html_escape((options.title.empty() ? "minigen run " + run_name(run_dir) : options.title) +
                                          bug_in_title(config ? &*config : nullptr));
    const std::string body = "<p class=\"meta\">" + run_summary(log) + "</p>\n" + warnings_html(log) + health_html(log) +
                             "<h2>Configuration</h2>\n" + config_html(config ? &*config : nullptr) +
                             "<h2>Metrics</h2>\n" + metrics_html(plots) + evaluation_html(eval ? &*eval : nullptr) +
                             "<h2>Samples</h2>\n" + samples_html(find_samples(run / "samples", "step_")) +
                             surfaces_html(find_samples(run / "samples", "surface_"));
    write_text_atomically((report_dir / "index.html").string(), page_html(title, body));
}

}  // namespace mg::tools
