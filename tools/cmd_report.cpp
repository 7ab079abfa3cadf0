// minigen report RUN_DIR: plots and an HTML page from a run's metrics and samples, or
// (--table) the metrics as step-wise rows on stdout.
#include <cstdio>
#include <filesystem>

#include "kernels/base.h"
#include "tools/cli.h"
#include "tools/report.h"

namespace mg::tools {

void add_report_command(CLI::App& app) {
    static std::vector<std::string> dirs;
    static std::string format = "auto", out_dir;
    static bool table = false, markdown = false, csv = false, compare = false;
    static int64_t every = 0;
    static std::vector<std::string> columns;
    auto* cmd = app.add_subcommand("report", "Write RUN_DIR/report/index.html: loss curves, D(x), D(G(z)), gradient norms, samples "
                                 "(--compare: two runs side by side)");
    cmd->footer(
        "\nThe run directory is read as untrusted input: metric names never reach gnuplot or the page\n"
        "unescaped; a broken line of metrics.jsonl is an error naming the file and the line, except a\n"
        "last line cut short (a run still writing it), which is skipped with a warning.\n\n"
        "Examples:\n"
        "  minigen report runs/dcgan                                   # runs/dcgan/report/index.html\n"
        "  minigen report runs/dcgan --table --every 500               # losses and D outputs every 500 steps\n"
        "  minigen report --compare runs/buggy runs/correct            # runs/buggy/report/compare.html\n"
        "  minigen report runs/gan2d --table --columns d_real,d_fake,modes_covered --markdown");
    cmd->add_option("run_dir", dirs, "A run directory written by minigen train (two with --compare)")
        ->required()
        ->expected(1, 2);
    auto* compare_flag = cmd->add_flag("--compare", compare,
                                       "Two runs RUN_A RUN_B on one page (RUN_A/report/compare.html): their health "
                                       "monitors side by side, every plot with both overlaid (A solid, B dashed), "
                                       "the last sample grid of each");
    cmd->add_option("--out", out_dir, "With --compare: write DIR/index.html instead")->needs(compare_flag);
    cmd->add_option("--plots", format, "png (gnuplot), svg, or auto")->check(CLI::IsMember({"auto", "png", "svg"}));
    auto* table_flag = cmd->add_flag("--table", table,
                                     "Print the metrics as a table on stdout (one row per logged step) instead of "
                                     "writing the report")
                           ->excludes(compare_flag);
    cmd->add_option("--every", every, "With --table: the first row at or after each multiple of N steps")
        ->check(CLI::PositiveNumber)
        ->needs(table_flag);
    cmd->add_option("--columns", columns,
                    "With --table: the metrics to show, comma-separated (default: the losses and D's outputs: loss_d, loss_g, d_real, d_fake, ...); "
                    "an unknown name is an error that lists the known ones")
        ->delimiter(',')
        ->needs(table_flag);
    auto* md_flag = cmd->add_flag("--markdown", markdown, "With --table: a Markdown table ('-': not logged, 'null': logged as null; whole numbers without decimals, "
                                  "the rest to 4 significant digits, like the default text table)")
                        ->needs(table_flag);
    cmd->add_flag("--csv", csv, "With --table: CSV with full precision (empty: not logged, nan: logged as null)")
        ->needs(table_flag)
        ->excludes(md_flag);
    cmd->callback([] {
        MG_CHECK(dirs.size() == (compare ? 2u : 1u), "report: {}", compare ? "--compare needs two run directories, RUN_A RUN_B"
                                                                            : "one run directory, or two with --compare");
        for (const std::string& d : dirs) MG_CHECK(std::filesystem::is_directory(d), "report: {} is not a directory", d);
        const std::string& dir = dirs[0];
        if (table) {
            const MetricsLog log = read_metrics((std::filesystem::path(dir) / "metrics.jsonl").string(), true);
            for (const std::string& w : log.warnings) std::fprintf(stderr, "%s\n", printable(w).c_str());
            TableOptions t{every, columns, csv ? TableFormat::Csv : markdown ? TableFormat::Markdown : TableFormat::Text};
            std::fputs(metrics_table(log, t).c_str(), stdout);
            return;
        }
        ReportOptions o;
        o.plots = format == "png" ? PlotFormat::Png : format == "svg" ? PlotFormat::Svg : PlotFormat::Auto;
        o.messages = true;
        if (compare) {
            std::printf("%s\n", write_compare_report(dirs[0], dirs[1], out_dir, o).c_str());
            return;
        }
        write_report(dir, o);
        std::printf("%s/report/index.html\n", dir.c_str());
    });
}

}  // namespace mg::tools
