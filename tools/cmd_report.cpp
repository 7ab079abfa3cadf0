// minigen report RUN_DIR: plots and an HTML page from a run's metrics and samples.
#include <cstdio>
#include <filesystem>

#include "kernels/base.h"
#include "tools/cli.h"
#include "tools/report.h"

namespace mg::tools {

void add_report_command(CLI::App& app) {
    static std::string dir;
    static std::string format = "auto";
    auto* cmd = app.add_subcommand("report", "Write RUN_DIR/report/index.html: loss curves, D(x), D(G(z)), gradient norms, samples");
    cmd->add_option("run_dir", dir, "A run directory written by minigen train")->required();
    cmd->add_option("--plots", format, "png (gnuplot), svg, or auto")->check(CLI::IsMember({"auto", "png", "svg"}));
    cmd->callback([] {
        MG_CHECK(std::filesystem::is_directory(dir), "report: {} is not a directory", dir);
        ReportOptions o;
        o.plots = format == "png" ? PlotFormat::Png : format == "svg" ? PlotFormat::Svg : PlotFormat::Auto;
        write_report(dir, o);
        std::printf("%s/report/index.html\n", dir.c_str());
    });
}

}  // namespace mg::tools
