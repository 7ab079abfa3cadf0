// Run reports: from a synthetic run directory to index.html with every plot and sample,
// in both plot formats; metric grouping; a bad metrics line names its line number.
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/io/image.h"
#include "core/ops.h"
#include "helpers.h"
#include "models/plot2d.h"

// tools/report.cpp belongs to the CLI, not the library: tests/CMakeLists.txt compiles it
// into the test binary and defines MINIGEN_TESTS_HAVE_REPORT. Without that, one failing
// case says so instead of a link error that would stop every other test.
#ifndef MINIGEN_TESTS_HAVE_REPORT
TEST_CASE("report: tools/report.cpp is compiled into the tests") {
    FAIL("tests/CMakeLists.txt must add tools/report.cpp to minigen_tests and define MINIGEN_TESTS_HAVE_REPORT");
}
#else
#include "tools/report.h"

using namespace mg;
using namespace mg::tools;
using namespace mg::test;
namespace fs = std::filesystem;

namespace {

// A run directory like the trainer writes: 300 metric lines, a config, two sample grids.
void make_run(const fs::path& dir) {
    fs::create_directories(dir / "samples");
    std::ofstream m(dir / "metrics.jsonl");
    for (int step = 1; step <= 300; ++step) {
        double t = step / 300.0;
        m << "{\"step\": " << step << ", \"epoch\": " << step / 100 << ", \"time_s\": " << 0.05 * step
          << ", \"loss_d\": " << 1.38 - 0.5 * t + 0.05 * std::sin(step) << ", \"loss_g\": " << 0.7 + 0.8 * t
          << ", \"d_real\": " << 0.5 + 0.3 * t << ", \"d_fake\": " << 0.5 - 0.3 * t
          << ", \"grad_norm\": {\"G/fc.weight\": " << 2.0 * std::exp(-3 * t) + 0.01
          << ", \"D/fc.weight\": " << 0.5 + t << "}, \"images_per_s\": " << 5000 + 10 * (step % 7);
        if (step % 100 == 0) m << ", \"fid\": " << 120.0 / step * 100;
        if (step == 150) m << ", \"lr\": null";
        m << "}\n";
        if (step == 10) m << "\n";  // blank lines are skipped
    }
    m.close();
    std::ofstream(dir / "config.json") << R"({"model": "dcgan", "batch_size": 64, "adam": {"lr": 0.0002, "betas": [0.5, 0.999]}, "note": "<b>escaped</b>"})";
    for (int step : {100, 2000}) {
        Tensor grid = rand({4, 1, 6, 6}, {}, -1.0, 1.0);
        io::write_png_grid((dir / "samples" / fmt::format("step_{:06}.png", step)).string(), grid);
    }
}

std::vector<std::string> attribute_values(const std::string& html, const std::string& attr) {
    std::vector<std::string> out;
    const std::string open = " " + attr + "=\"";
    for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
        size_t begin = at + open.size(), end = html.find('"', begin);
        REQUIRE(end != std::string::npos);
        out.push_back(html.substr(begin, end - begin));
    }
    return out;
}

void check_report(const fs::path& run, const std::string& plot_ext) {
    const fs::path report = run / "report";
    REQUIRE(fs::exists(report / "index.html"));
    const std::string html = read_file(report / "index.html");
    CHECK(contains(html, "<title>minigen run "));
    CHECK(contains(html, "dcgan"));
    CHECK(contains(html, "&lt;b&gt;escaped&lt;/b&gt;"));  // config values are escaped
    CHECK(contains(html, "300 records"));
    CHECK_FALSE(contains(html, "http://"));  // no external resources
    CHECK_FALSE(contains(html, "https://"));

    // Every image the page shows exists, relative to the page; plots first, then the samples in step order.
    std::vector<std::string> srcs = attribute_values(html, "src");
    std::vector<std::string> plots, samples;
    for (const std::string& s : srcs) {
        CHECK_MESSAGE(fs::exists(report / s), s);
        (s.rfind("../samples/", 0) == 0 ? samples : plots).push_back(s);
    }
    CHECK(samples == std::vector<std::string>{"../samples/step_000100.png", "../samples/step_002000.png"});
    // losses, D outputs, gradient norms, images_per_s, fid ("lr" has only a null: no plot).
    CHECK(plots == std::vector<std::string>{"losses" + plot_ext, "discriminator" + plot_ext, "grad_norms_d" + plot_ext,
                                            "grad_norms_g" + plot_ext, "metric_images_per_s" + plot_ext,
                                            "metric_fid" + plot_ext});
    for (const std::string& p : plots) CHECK(fs::file_size(report / p) > 500);
}

}  // namespace

TEST_CASE("report: metrics are read, flattened and grouped") {
    TempDir dir;
    make_run(dir.path);
    MetricsLog log = read_metrics((dir.path / "metrics.jsonl").string());
    CHECK(log.records == 300);
    REQUIRE(log.find("loss_d") != nullptr);
    CHECK(log.find("loss_d")->values.size() == 300);
    REQUIRE(log.find("grad_norm/G/fc.weight") != nullptr);
    CHECK(log.find("grad_norm/G/fc.weight")->steps.front() == 1.0);
    REQUIRE(log.find("fid") != nullptr);
    CHECK(log.find("fid")->steps == std::vector<double>{100, 200, 300});
    CHECK(log.find("fid")->values[0] == doctest::Approx(120.0));
    REQUIRE(log.find("lr") != nullptr);
    CHECK(log.find("lr")->values.empty());
    CHECK(log.find("lr")->null_steps == std::vector<double>{150});
    CHECK(log.find("step") == nullptr);

    std::vector<PlotGroup> groups =
        group_metrics({"step", "epoch", "time_s", "loss_d", "d_real", "grad_norm/G/w", "loss_g", "d_fake", "grad_norm/D/w",
                       "grad_norm/G", "images_per_s", "lr", "test loss", "a b", "a_b", "a_b_2", "grad_norm_xhat"});
    REQUIRE(groups.size() == 10);
    CHECK(groups[0].stem == "losses");
    CHECK(groups[0].metrics == std::vector<std::string>{"loss_d", "loss_g", "test loss"});
    CHECK(groups[1].metrics == std::vector<std::string>{"d_real", "d_fake"});
    // One gradient-norm panel per network, the whole network's norm first.
    CHECK(groups[2].stem == "grad_norms_g");
    CHECK(groups[2].metrics == std::vector<std::string>{"grad_norm/G", "grad_norm/G/w"});
    CHECK(groups[2].log_y);
    CHECK(groups[3].stem == "grad_norms_d");
    CHECK(groups[3].metrics == std::vector<std::string>{"grad_norm/D/w"});
    CHECK(groups[4].stem == "grad_norms");
    CHECK(groups[4].metrics == std::vector<std::string>{"grad_norm_xhat"});
    CHECK(groups[5].metrics == std::vector<std::string>{"images_per_s"});
    CHECK(groups[6].stem == "metric_lr");
    CHECK(groups[7].stem == "metric_a_b");
    CHECK(groups[8].stem == "metric_a_b_2");  // stems stay unique, whatever the names
    CHECK(groups[9].stem == "metric_a_b_2_2");
    for (const PlotGroup& g : groups) CHECK_FALSE(g.caption.empty());
}

TEST_CASE("report: SVG plots, every plot and sample referenced") {
    TempDir dir;
    make_run(dir.path);
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    check_report(dir.path, ".svg");
    const std::string svg = read_file(dir.path / "report" / "losses.svg");
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(contains(svg, "<polyline"));
    CHECK(contains(svg, ">loss_d<"));
    CHECK(contains(svg, ">loss_g<"));
    // Long series are thinned but keep their extremes.
    write_report(dir.path.string(), {.plots = PlotFormat::Svg, .max_points_per_series = 20});
    check_report(dir.path, ".svg");
}

TEST_CASE("report: two runs overlaid, one plot per group, A solid and B dashed in one colour per metric") {
    TempDir dir;
    // A logs the losses and fid over steps 1-5; B the losses and d_real over steps 3-8.
    fs::create_directories(dir.path / "a");
    fs::create_directories(dir.path / "b");
    {
        std::ofstream a(dir.path / "a" / "metrics.jsonl"), b(dir.path / "b" / "metrics.jsonl");
        for (int step = 1; step <= 5; ++step)
            a << "{\"step\": " << step << ", \"loss_d\": " << 1.0 / step << ", \"loss_g\": 2, \"fid\": " << 50 - step << "}\n";
        for (int step = 3; step <= 8; ++step)
            b << "{\"step\": " << step << ", \"loss_d\": " << 0.1 * step << ", \"loss_g\": 3, \"d_real\": 0.9}\n";
    }
    const MetricsLog a = read_metrics((dir.path / "a" / "metrics.jsonl").string());
    const MetricsLog b = read_metrics((dir.path / "b" / "metrics.jsonl").string());
    std::vector<Plot> plots = collect_plots({&a, &b}, {"buggy", "correct"});
    REQUIRE(plots.size() == 3);  // losses, D's outputs, fid
    CHECK(plots[0].group.stem == "losses");
    REQUIRE(plots[0].lines.size() == 4);
    CHECK(plots[0].lines[0].series == a.find("loss_d"));
    CHECK(plots[0].lines[1].series == b.find("loss_d"));
    CHECK(plots[0].lines[1].run == 1);
    CHECK(plots[0].lines[3].series == b.find("loss_g"));
    CHECK(plots[0].x_lo == 1);  // both runs' steps, on every plot
    CHECK(plots[2].x_hi == 8);
    CHECK(plots[1].group.stem == "discriminator");
    REQUIRE(plots[1].lines.size() == 1);
    CHECK(plots[1].lines[0].run == 1);
    CHECK(contains(plots[1].group.caption, "Only run B logged d_real"));
    CHECK(contains(plots[2].group.caption, "Only run A logged fid"));
    CHECK(contains(plots[0].group.caption, "<b>A</b>: buggy (solid), <b>B</b>: correct (dashed)"));
    CHECK_FALSE(contains(plots[0].group.caption, "Only run"));
    // One run alone: no run names, no overlay caption.
    CHECK(collect_plots({&a})[0].runs.empty());
    CHECK(collect_plots({&a})[0].lines.size() == 2);

    draw_plots(plots, dir.path.string(), {.plots = PlotFormat::Svg});
    const std::string svg = read_file(dir.path / "losses.svg");
    // loss_d: A solid and B dashed in the same colour; each metric named once, each run once.
    CHECK(contains(svg, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.3\" points="));
    CHECK(contains(svg, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.3\" stroke-dasharray=\"7,3\" points="));
    CHECK(contains(svg, "<polyline fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.3\" stroke-dasharray=\"7,3\" points="));
    auto count = [&](const std::string& text) {
        size_t n = 0;
        for (size_t at = svg.find(text); at != std::string::npos; at = svg.find(text, at + 1)) ++n;
        return n;
    };
    CHECK(count(">loss_d<") == 1);
    CHECK(count(">A: buggy<") == 1);
    CHECK(count(">B: correct<") == 1);
}

TEST_CASE("report: --compare writes one page with both runs, their monitors and last grids") {
    TempDir dir;
    make_run(dir.path / "a");
    make_run(dir.path / "b");
    std::ofstream(dir.path / "b" / "config.json") << R"({"model": "gan2d", "config": {"bug": "labels-swapped"}})";
    std::ofstream(dir.path / "b" / "metrics.jsonl", std::ios::app)
        << R"({"step": 300, "health": {"monitor": "d-prefers-fakes", "message": "<D> likes fakes"}})" << "\n";
    const std::string page = write_compare_report((dir.path / "a").string(), (dir.path / "b").string(), {},
                                                  {.plots = PlotFormat::Svg});
    CHECK(fs::path(page) == dir.path / "a" / "report" / "compare.html");
    const std::string html = read_file(page);
    CHECK(contains(html, "A: a</h2>"));
    CHECK(contains(html, "B: b</h2>"));
    CHECK(contains(html, "dcgan &middot; correct (no bug)"));
    CHECK(contains(html, "gan2d &middot; bug: labels-swapped"));
    CHECK(contains(html, "<b>d-prefers-fakes</b> at step 300: &lt;D&gt; likes fakes"));
    // One plot per group, drawn beside A's own report without touching its files; the last grid of each run.
    std::vector<std::string> plots, samples;
    for (const std::string& s : attribute_values(html, "src")) {
        CHECK_MESSAGE(fs::exists(dir.path / "a" / "report" / s), s);
        (s.find("samples/") != std::string::npos ? samples : plots).push_back(s);
    }
    CHECK(plots == std::vector<std::string>{"compare_losses.svg", "compare_discriminator.svg", "compare_grad_norms_d.svg",
                                            "compare_grad_norms_g.svg", "compare_metric_images_per_s.svg",
                                            "compare_metric_fid.svg"});
    CHECK(samples == std::vector<std::string>{"../samples/step_002000.png", "../../b/samples/step_002000.png"});
    CHECK_THROWS_WITH_AS(write_compare_report((dir.path / "a").string(), (dir.path / "none").string()),
                         doctest::Contains("does not exist"), Error);
    CHECK(write_compare_report((dir.path / "a").string(), (dir.path / "b").string(), (dir.path / "cmp").string(),
                               {.plots = PlotFormat::Svg}) == (dir.path / "cmp" / "index.html").string());
    // gnuplot: the compare page's script beside A's report's, neither overwriting the other.
    if (gnuplot_available()) {
        write_report((dir.path / "a").string(), {.plots = PlotFormat::Png});
        write_compare_report((dir.path / "a").string(), (dir.path / "b").string(), {}, {.plots = PlotFormat::Png});
        const fs::path data = dir.path / "a" / "report" / "plot-data";
        CHECK_FALSE(contains(read_file(data / "plots.gp"), "compare_"));
        CHECK(contains(read_file(data / "compare.gp"), "'plot-data/compare_losses.dat'"));
        CHECK(contains(read_file(data / "compare.gp"), "title 'B: b'"));
        CHECK(fs::file_size(dir.path / "a" / "report" / "compare_losses.png") > 500);
        CHECK(fs::file_size(dir.path / "a" / "report" / "losses.png") > 500);
    }
}

TEST_CASE("report: a run's eval.json shows its metrics with the protocol card under them") {
    TempDir dir;
    make_run(dir.path);
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    CHECK(!contains(read_file(dir.path / "report" / "index.html"), "Evaluation"));
    std::ofstream(dir.path / "eval.json")
        << R"({"model": "dcgan", "fid": 12.5, "kid": 0.25, "protocol": {"feature_extractor": {"sha256": "ab12"},)"
        << R"( "generated": {"count": 10000, "seed": 0}, "minigen": {"commit": "<i>c0ffee</i>"}}})";
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    std::string html = read_file(dir.path / "report" / "index.html");
    CHECK(contains(html, "<h2>Evaluation</h2>"));
    CHECK(contains(html, ">fid</td><td class=\"num\">12.5<"));
    CHECK(contains(html, ">feature_extractor.sha256</td><td>ab12<"));
    CHECK(contains(html, ">generated.count</td><td>10000<"));
    CHECK(contains(html, "&lt;i&gt;c0ffee"));  // escaped
    CHECK(html.find(">fid</td><td class=\"num\">12.5<") < html.find("Protocol card"));
    std::ofstream(dir.path / "eval.json") << R"({"fid": 12.5})";
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    CHECK(contains(read_file(dir.path / "report" / "index.html"), "eval.json has no protocol card"));
    std::ofstream(dir.path / "eval.json") << R"({"fid": )";
    CHECK(contains(error_of([&] { write_report(dir.path.string(), {.plots = PlotFormat::Svg}); }), "eval.json"));
}

TEST_CASE("report: gnuplot PNG plots when gnuplot is installed") {
    if (!gnuplot_available()) {
        MESSAGE("gnuplot is not installed (apt-get install gnuplot-nox): only the SVG path is tested");
        return;
    }
    TempDir dir;
    make_run(dir.path);
    write_report(dir.path.string(), {.plots = PlotFormat::Png});
    check_report(dir.path, ".png");
    Tensor png = io::read_png((dir.path / "report" / "losses.png").string());
    CHECK(png.size(3) == 560);
    CHECK(png.size(2) == 360);
    write_report(dir.path.string());  // Auto picks gnuplot
    check_report(dir.path, ".png");
}

TEST_CASE("report: without gnuplot, or with a broken one, plots fall back to SVG") {
    TempDir dir;
    make_run(dir.path);
    const fs::path bin = dir.path / "bin";
    fs::create_directories(bin);
    const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    struct RestorePath {
        std::string value;
        ~RestorePath() { setenv("PATH", value.c_str(), 1); }
    } restore{old_path};

    setenv("PATH", bin.c_str(), 1);  // nothing on PATH
    CHECK_FALSE(gnuplot_available());
    write_report(dir.path.string());
    check_report(dir.path, ".svg");
    CHECK(contains(error_of([&] { write_report(dir.path.string(), {.plots = PlotFormat::Png}); }), "need gnuplot"));

    // A gnuplot that fails: Auto falls back with its message under each plot; Png is an error.
    std::ofstream(bin / "gnuplot") << "#!/bin/sh\necho 'cannot open display: broken gnuplot' >&2\nexit 1\n";
    fs::permissions(bin / "gnuplot", fs::perms::owner_all);
    setenv("PATH", (bin.string() + ":" + old_path).c_str(), 1);
    CHECK(gnuplot_available());
    write_report(dir.path.string());
    check_report(dir.path, ".svg");
    CHECK(contains(read_file(dir.path / "report" / "index.html"), "broken gnuplot"));
    CHECK(contains(error_of([&] { write_report(dir.path.string(), {.plots = PlotFormat::Png}); }),
                   "gnuplot failed: cannot open display: broken gnuplot"));
}

TEST_CASE("report: bad input names the file and the line") {
    TempDir dir;
    make_run(dir.path);
    const fs::path metrics = dir.path / "metrics.jsonl";
    {
        std::ofstream m(metrics, std::ios::app);
        m << "{\"step\": 301, \"loss_d\": 0.5}\n";
        m << "{\"step\": 302, \"loss_d\": 0.5\n";  // line 303 (300 records + 1 blank + 1 good line before it)
    }
    std::string e = error_of([&] { write_report(dir.path.string(), {.plots = PlotFormat::Svg}); });
    CHECK(contains(e, metrics.string() + ":303:"));
    CHECK(contains(e, "not valid JSON"));

    std::ofstream(metrics) << "{\"step\": 1, \"loss\": 1}\n[1, 2]\n";
    e = error_of([&] { read_metrics(metrics.string()); });
    CHECK(contains(e, "metrics.jsonl:2: expected a JSON object"));
    std::ofstream(metrics) << "{\"step\": 1}\n{\"loss\": 1}\n";
    CHECK(contains(error_of([&] { read_metrics(metrics.string()); }), "metrics.jsonl:2: no numeric \"step\""));

    CHECK(contains(error_of([&] { write_report((dir.path / "nope").string()); }), "does not exist"));
    fs::remove(metrics);
    CHECK(contains(error_of([&] { write_report(dir.path.string()); }), "metrics.jsonl' not found"));

    // An empty log still gives a page.
    std::ofstream(metrics).close();
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    CHECK(contains(read_file(dir.path / "report" / "index.html"), "No metrics recorded yet"));
}

TEST_CASE("plot2d: the decision surface has a colour key from D(x) = 0 to 1") {
    TempDir dir;
    const std::string path = dir / "surface.png";
    // D(x) = sigmoid(4 x): fake (blue) on the left, real (orange) on the right.
    auto surface = [](const Tensor& pts) { return sigmoid(mul(pts.slice(1, 0, 1), 4.0)); };
    models::plot2d::write_decision_surface(path, surface, Tensor(), Tensor(), {.lo = -3, .hi = 3, .size = 200});
    Tensor png = io::read_png(path);
    REQUIRE(png.size(1) == 3);
    CHECK(png.size(2) == 200);
    CHECK(png.size(3) == 200 + 130);  // the plot, then the key
    std::vector<uint8_t> px = png.to_vector<uint8_t>();
    auto rgb = [&](int64_t x, int64_t y) {
        const int64_t plane = png.size(2) * png.size(3), i = y * png.size(3) + x;
        return std::array<int, 3>{px[size_t(i)], px[size_t(i + plane)], px[size_t(i + 2 * plane)]};
    };
    using C = std::array<int, 3>;
    const C blue = {70, 130, 220}, orange = {255, 160, 0}, white = {255, 255, 255};
    CHECK(rgb(5, 37) == blue);      // x = -2.9: D about 0
    CHECK(rgb(195, 37) == orange);  // x = 2.9: D about 1
    // The key's bar (x 216 to 236): orange at the top (D = 1), white halfway, blue at the bottom.
    const int64_t top = 44, bottom = 200 - 30;
    CHECK(rgb(226, top) == orange);
    CHECK(rgb(226, bottom) == blue);
    CHECK(rgb(226, (top + bottom) / 2) == white);
    // Tick labels are drawn in dark grey right of the bar.
    int dark = 0;
    for (int64_t y = 0; y < 200; ++y)
        for (int64_t x = 240; x < 330; ++x) dark += rgb(x, y)[0] < 100;
    CHECK(dark > 200);
}

namespace {

// Metric names that would run code if they reached a gnuplot script or a shell, or
// script if they reached the page unescaped. Each `touch` would create a file in `dir`.
std::vector<std::string> hostile_names(const fs::path& dir) {
    const std::string d = dir.string();
    return {"loss_x\n!touch " + d + "/PWNED_BANG",           // ends the gnuplot command, then a shell escape
            "x'\n!touch " + d + "/PWNED_QUOTE\n'",            // closes the quote first
            "`touch " + d + "/PWNED_BACKQUOTE`",              // gnuplot backquote substitution
            "loss_y' . system('touch " + d + "/PWNED_SYSTEM') . '",
            "@x \\\\ \" $0 {^_}",                              // macros, escapes, enhanced text
            "<script>alert(1)</script>",
            "d_real\"><img src=x onerror=alert(2)>",
            std::string("ctl\x01\x1b[31mred\x7f", 14)};
}

void write_hostile_run(const fs::path& run) {
    fs::create_directories(run);
    std::ofstream m(run / "metrics.jsonl");
    const std::vector<std::string> names = hostile_names(run);
    for (int step = 1; step <= 60; ++step) {
        nlohmann::json record = {{"step", step}, {"loss_d", 1.0 / step}};
        for (size_t k = 0; k < names.size(); ++k) record[names[k]] = double(k) + 0.01 * step;
        m << record.dump() << "\n";
    }
    nlohmann::json config = {{"model", "<script>alert(3)</script>"}, {"x\n!touch " + run.string() + "/PWNED_CONFIG", 1}};
    std::ofstream(run / "config.json") << config.dump();
}

void check_nothing_ran(const fs::path& run) {
    for (const auto& entry : fs::recursive_directory_iterator(run))
        CHECK_MESSAGE(entry.path().filename().string().rfind("PWNED", 0) != 0, entry.path().string());
}

}  // namespace

TEST_CASE("fuzz: report: hostile metric names run nothing and are escaped on the page") {
    TempDir dir;
    const fs::path run = dir.path / "run";
    write_hostile_run(run);
    std::vector<PlotFormat> formats = {PlotFormat::Svg};
    if (gnuplot_available()) formats.push_back(PlotFormat::Png);
    for (PlotFormat format : formats) {
        CAPTURE(format == PlotFormat::Png ? "png" : "svg");
        write_report(run.string(), {.plots = format});
        check_nothing_ran(run);
        const std::string html = read_file(run / "report" / "index.html");
        CHECK_FALSE(contains(html, "<script"));
        CHECK_FALSE(contains(html, "<img src=x"));
        CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
        CHECK_FALSE(contains(html, "\\x1b"));
        CHECK(html.find('\x1b') == std::string::npos);  // control characters do not reach the page
        // Every plot was drawn (none fell back with an error note).
        for (const std::string& src : attribute_values(html, "src")) CHECK(fs::file_size(run / "report" / src) > 500);
        CHECK_FALSE(contains(html, "class=\"note\""));
        if (format == PlotFormat::Svg)
            for (const auto& entry : fs::directory_iterator(run / "report"))
                if (entry.path().extension() == ".svg") {
                    const std::string svg = read_file(entry.path());
                    CHECK_FALSE(contains(svg, "<script"));
                    CHECK_MESSAGE(std::none_of(svg.begin(), svg.end(),
                                               [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\n'; }),
                                  entry.path());
                }
    }
    // The table prints the names without control characters either.
    const std::string table = metrics_table(read_metrics((run / "metrics.jsonl").string()),
                                            {.columns = hostile_names(run)});
    CHECK(table.find('\x1b') == std::string::npos);
    CHECK(table.find('\x01') == std::string::npos);
    check_nothing_ran(run);
}

namespace {

// A small valid log as text: `records` lines, losses and D outputs.
std::string valid_log(int records) {
    std::string text;
    for (int step = 1; step <= records; ++step)
        text += fmt::format("{{\"step\": {}, \"loss_d\": {}, \"loss_g\": {}, \"d_real\": 0.6, \"d_fake\": 0.4}}\n", step,
                            1.3 + 0.01 * step, 0.7 - 0.001 * step);
    return text;
}

std::string deep(int depth) { return std::string(size_t(depth), '[') + std::string(size_t(depth), ']'); }

// write_report on a run with this metrics.jsonl text: "" when it succeeds, else the mg::Error's
// message. Anything else (another exception type, a crash) fails the test.
std::string report_error(const fs::path& run, const std::string& metrics, const std::string& config = "{}") {
    fs::create_directories(run);
    std::ofstream(run / "metrics.jsonl", std::ios::binary | std::ios::trunc) << metrics;
    std::ofstream(run / "config.json", std::ios::binary | std::ios::trunc) << config;
    return error_of([&] { write_report(run.string(), {.plots = PlotFormat::Svg}); });
}

}  // namespace

TEST_CASE("fuzz: report: hostile and broken metrics.jsonl and config.json give one clear error each") {
    TempDir dir;
    const fs::path run = dir.path / "run";
    const std::string metrics = (run / "metrics.jsonl").string(), config = (run / "config.json").string();
    const std::string good = valid_log(20);

    CHECK(report_error(run, good) == "");
    // A line nested 100,000 deep (600 KB): refused before parsing, naming the file and line.
    std::string e = report_error(run, good + "{\"step\": 21, \"x\": " + deep(100000) + "}\n" + good);
    CHECK(contains(e, metrics + ":21:"));
    CHECK(contains(e, "nested"));
    // A number out of double's range.
    e = report_error(run, good + "{\"step\": 21, \"loss_d\": 1e400}\n");
    CHECK(contains(e, metrics + ":21:"));
    CHECK(contains(e, "1e400"));
    // A line longer than the limit, without reading it whole.
    e = report_error(run, good + "{\"step\": 21, \"s\": \"" + std::string(kMaxMetricsLineBytes + 10, 'a') + "\"}\n");
    CHECK(contains(e, metrics + ":21:"));
    CHECK(contains(e, "longer than"));
    // Too many different metrics.
    std::string wide = "{\"step\": 1";
    for (size_t i = 0; i <= kMaxMetricSeries; ++i) wide += fmt::format(", \"m{}\": 1", i);
    e = report_error(run, good + wide + "}\n");
    CHECK(contains(e, metrics + ":21:"));
    CHECK(contains(e, "different metrics"));
    // The last line cut short (a run still writing it) is skipped with a warning; a cut line
    // in the middle is an error.
    const std::string cut = good + "{\"step\": 21, \"loss_d\": 0.";
    CHECK(report_error(run, cut) == "");
    MetricsLog log = read_metrics(metrics);
    CHECK(log.records == 20);
    REQUIRE(log.warnings.size() == 1);
    CHECK(contains(log.warnings[0], metrics + ":21: skipped"));
    CHECK(contains(read_file(run / "report" / "index.html"), "skipped"));
    CHECK(contains(report_error(run, cut + "\n" + good), metrics + ":21: not valid JSON"));
    CHECK(contains(report_error(run, good + "{\"step\": 21, \"x\": " + deep(100000)), metrics + ":21: JSON nested"));

    // config.json: nested, cut short, too large.
    e = report_error(run, good, "{\"a\": " + deep(100000) + "}");
    CHECK(contains(e, config));
    CHECK(contains(e, "nested"));
    CHECK(contains(report_error(run, good, "{\"model\": \"dcg"), config));
    CHECK(contains(report_error(run, good, "{\"x\": 1e400}"), config));

    // Not regular files: a FIFO would block the reader forever, a directory is a mistake.
    fs::remove(run / "metrics.jsonl");
    REQUIRE(::mkfifo(metrics.c_str(), 0600) == 0);
    CHECK(contains(error_of([&] { write_report(run.string()); }), "is a FIFO"));
    fs::remove(run / "metrics.jsonl");
    fs::create_directories(run / "metrics.jsonl");
    CHECK(contains(error_of([&] { write_report(run.string()); }), "is a directory"));
    fs::remove(run / "metrics.jsonl");
    std::ofstream(run / "metrics.jsonl") << good;
    fs::remove(run / "config.json");
    REQUIRE(::mkfifo(config.c_str(), 0600) == 0);
    CHECK(contains(error_of([&] { write_report(run.string()); }), config + ": is a FIFO"));
}

TEST_CASE("fuzz: report: seeded corruption of metrics.jsonl and config.json") {
    // Each case is a valid log with one random damage; write_report must either succeed or
    // throw an mg::Error naming the file (error_of lets any other exception fail the test).
    TempDir dir;
    const fs::path run = dir.path / "run";
    std::mt19937 rng(1234);
    const std::string good = valid_log(12);
    const std::vector<std::string> pieces = {"1e400", "-1e400", "1e308", "-1e308", "1e-320", "null", "\"\\u0000\"",
                                             "[", "{", "}", "\"", "\\", "\n", deep(200), "{\"step\": 1e308}",
                                             "{\"step\": -5, \"loss_d\": -1e308}", "{\"\": 1, \"step\": 3}"};
    int errors = 0;
    for (int i = 0; i < 60; ++i) {
        std::string text = good;
        const size_t at = std::uniform_int_distribution<size_t>(0, text.size())(rng);
        switch (i % 4) {
            case 0: text.resize(at); break;  // truncated
            case 1: text.insert(at, pieces[size_t(i / 4) % pieces.size()]); break;
            case 2: text[std::min(at, text.size() - 1)] = char(std::uniform_int_distribution<int>(0, 255)(rng)); break;
            case 3: text += pieces[size_t(i / 4) % pieces.size()] + "\n"; break;
        }
        const bool damage_config = i % 5 == 0;
        const std::string e = damage_config ? report_error(run, good, text.substr(0, at)) : report_error(run, text);
        CAPTURE(i);
        CAPTURE(e);
        if (!e.empty()) {
            ++errors;
            CHECK(contains(e, damage_config ? "config.json" : "metrics.jsonl:"));
        } else {
            CHECK(fs::exists(run / "report" / "index.html"));
        }
    }
    CHECK(errors > 10);  // the damage was real
}

TEST_CASE("report: --table rows of chosen metrics") {
    TempDir dir;
    make_run(dir.path);
    const MetricsLog log = read_metrics((dir.path / "metrics.jsonl").string());
    // Default: the losses and D's outputs, one row per logged step.
    std::string text = metrics_table(log, {.every = 100, .columns = {}});
    CHECK(text ==
          "step  loss_d  loss_g  d_real  d_fake\n"
          "   1   1.420  0.7027  0.5010  0.4990\n"
          " 100   1.188  0.9667  0.6000  0.4000\n"
          " 200   1.003   1.233  0.7000  0.3000\n"
          " 300  0.8300   1.500  0.8000  0.2000\n");
    std::string md = metrics_table(log, {.every = 50, .columns = {"fid", "lr"}, .format = TableFormat::Markdown});
    CHECK(md ==
          "| step | fid | lr |\n"
          "| ---: | ---: | ---: |\n"
          "| 100 | 120 | - |\n"
          "| 150 | - | null |\n"
          "| 200 | 60 | - |\n"
          "| 300 | 40 | - |\n");
    std::string csv = metrics_table(log, {.every = 0, .columns = {"fid", "grad_norm/G/fc.weight"}, .format = TableFormat::Csv});
    CHECK(contains(csv, "step,fid,grad_norm/G/fc.weight\n1,,"));
    CHECK(contains(csv, "\n100,120,0.745759\n"));
    // The first row at or after each multiple: 1 (for 0), 100, 200, 300 above; all rows without --every.
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 301);
    std::string e = error_of([&] { metrics_table(log, {.columns = {"loss_d", "nope", "also nope"}}); });
    CHECK(contains(e, "unknown metrics 'nope', 'also nope'"));
    CHECK(contains(e, "loss_d"));
}

#endif  // MINIGEN_TESTS_HAVE_REPORT
