// The minigen command line: each subcommand lives in its own cmd_*.cpp and adds
// itself to the app here. Output conventions: results on stdout (JSON with --json),
// progress and diagnostics on stderr; a bad flag, value or file is one line and exit 2.
#pragma once

#include <CLI/CLI.hpp>

namespace mg::tools {

void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_eval_command(CLI::App& app);

// --threads N, shared by the commands that compute.
void add_threads_option(CLI::App& cmd, int& threads);
void apply_threads(int threads);

}  // namespace mg::tools
