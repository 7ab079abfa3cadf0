// Run reports: from a synthetic run directory to index.html with every plot and sample,
// in both plot formats; metric grouping; a bad metrics line names its line number.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/io/image.h"
#include "helpers.h"

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
using mg::test::error_of;
using mg::test::TempDir;
namespace fs = std::filesystem;

namespace {


bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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
    const std::string html = slurp(report / "index.html");
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
    CHECK(plots == std::vector<std::string>{"losses" + plot_ext, "discriminator" + plot_ext, "grad_norms" + plot_ext,
                                            "metric_images_per_s" + plot_ext, "metric_fid" + plot_ext});
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
    CHECK(log.find("lr")->nulls == 1);
    CHECK(log.find("step") == nullptr);

    std::vector<PlotGroup> groups = group_metrics({"step", "epoch", "time_s", "loss_d", "d_real", "grad_norm/G/w", "loss_g",
                                                   "d_fake", "grad_norm/D/w", "images_per_s", "lr", "test loss", "lr"});
    REQUIRE(groups.size() == 6);
    CHECK(groups[0].stem == "losses");
    CHECK(groups[0].metrics == std::vector<std::string>{"loss_d", "loss_g", "test loss"});
    CHECK(groups[1].metrics == std::vector<std::string>{"d_real", "d_fake"});
    CHECK(groups[2].metrics == std::vector<std::string>{"grad_norm/G/w", "grad_norm/D/w"});
    CHECK(groups[2].log_y);
    CHECK(groups[3].metrics == std::vector<std::string>{"images_per_s"});
    CHECK(groups[4].stem == "metric_lr");
    CHECK(groups[5].stem == "metric_lr_2");  // stems stay unique
}

TEST_CASE("report: SVG plots, every plot and sample referenced") {
    TempDir dir;
    make_run(dir.path);
    write_report(dir.path.string(), {.plots = PlotFormat::Svg});
    check_report(dir.path, ".svg");
    const std::string svg = slurp(dir.path / "report" / "losses.svg");
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(contains(svg, "<polyline"));
    CHECK(contains(svg, ">loss_d<"));
    CHECK(contains(svg, ">loss_g<"));
    // Long series are thinned but keep their extremes.
    write_report(dir.path.string(), {.plots = PlotFormat::Svg, .max_points_per_series = 20});
    check_report(dir.path, ".svg");
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
    CHECK(contains(slurp(dir.path / "report" / "index.html"), "broken gnuplot"));
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
    CHECK(contains(slurp(dir.path / "report" / "index.html"), "No metrics recorded yet"));
}

#endif  // MINIGEN_TESTS_HAVE_REPORT
