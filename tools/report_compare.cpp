// minigen report --compare RUN_A RUN_B: two runs on one page, side by side (a buggy run and
// the correct one, say): who they are, the health monitors that fired in each, every plot
// group with both runs overlaid (A solid, B dashed), and each run's last sample grid.
// Built from report.cpp's parts; both run directories are untrusted input, read as `report`
// reads one.
#include <filesystem>

#include "kernels/base.h"
#include "tools/report.h"

namespace mg::tools {
namespace {

namespace fs = std::filesystem;

struct ComparedRun {
    std::string dir, name;
    MetricsLog log;
    RunIdentity identity;
};

// One column of the header: "A: <name>", model and bug, the log's extent, the monitors that fired.
std::string run_column_html(const ComparedRun& run, char letter) {
    const std::string bug =
        run.identity.bug.empty() || run.identity.bug == "none" ? "correct (no bug)" : "bug: " + run.identity.bug;
    std::string html =
        fmt::format("<div class=\"run\"><h2>{}: {}</h2>\n<p>{} &middot; {}</p>\n", letter, html_escape(run.name),
                    html_escape(run.identity.model.empty() ? "model ?" : run.identity.model), html_escape(bug));
    html += "<p class=\"meta\">" + run_summary_html(run.log) + "</p>\n";
    html += warnings_html(run.log);
    const std::string health = health_list_html(run.log);
    html += health.empty() ? "<p class=\"meta\">No health monitor fired.</p>\n"
                           : "<p>Health monitors that fired:</p>\n" + health;
    return html + "</div>\n";
}

std::string samples_column_html(const ComparedRun& run, char letter, const fs::path& page_dir) {
    const std::string grid = sample_grids_html(run.dir, page_dir.string(), /*last_only=*/true);
    return fmt::format("<div class=\"run\"><p><b>{}: {}</b></p>\n", letter, html_escape(run.name)) +
           (grid.empty() ? "<p class=\"meta\">No sample grids (samples/step_*.png).</p>\n" : grid) + "</div>\n";
}

}  // namespace

std::string write_compare_report(const std::string& run_a, const std::string& run_b, const std::string& out_dir,
                                 const ReportOptions& options) {
    std::vector<ComparedRun> runs;
    for (const std::string& dir : {run_a, run_b}) {
        MetricsLog log = read_run_metrics(dir, options.messages);
        runs.push_back({dir, run_name(dir), std::move(log), read_run_identity(dir)});
    }
    const fs::path page_dir = out_dir.empty() ? fs::path(run_a) / "report" : fs::path(out_dir);
    const fs::path page = page_dir / (out_dir.empty() ? "compare.html" : "index.html");
    std::error_code ec;
    fs::create_directories(page_dir, ec);
    MG_CHECK(!ec, "report --compare: cannot create '{}': {}", page_dir.string(), ec.message());

    std::vector<Plot> plots = collect_plots({&runs[0].log, &runs[1].log}, {runs[0].name, runs[1].name});
    // Beside run A's own report (index.html's plots) in the same folder: other file names.
    for (Plot& p : plots) p.group.stem = "compare_" + p.group.stem;
    draw_plots(plots, page_dir.string(), options, "compare");

    const std::string title = html_escape("minigen: " + runs[0].name + " (A) and " + runs[1].name + " (B)");
    std::string body =
        "<div class=\"runs\">\n" + run_column_html(runs[0], 'A') + run_column_html(runs[1], 'B') + "</div>\n";
    body += "<h2>Metrics, both runs overlaid</h2>\n";
    body += plots.empty() ? "<p class=\"meta\">Neither run has recorded metrics yet.</p>\n" : plots_html(plots);
    body +=
        "<h2>Last samples</h2>\n<p class=\"read\">How to read this: each run's newest sample grid "
        "(samples/step_*.png, the highest step), A left, B right. Look for what one run lacks: variety (mode "
        "collapse), shape, or any resemblance to the data.</p>\n<div class=\"runs\">\n" +
        samples_column_html(runs[0], 'A', page_dir) + samples_column_html(runs[1], 'B', page_dir) + "</div>\n";
    write_text_atomically(page.string(), page_html(title, body));
    return page.string();
}

}  // namespace mg::tools
