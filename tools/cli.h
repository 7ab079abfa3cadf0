// The minigen command line: each subcommand lives in its own cmd_*.cpp and adds
// itself to the app here. Output conventions: results on stdout (JSON with --json),
// progress and diagnostics on stderr; a bad flag, value or file is one line and exit 2.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

namespace mg::tools {

void add_info_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_profile_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_stylize_command(CLI::App& app);  // tools/cmd_stylize.cpp
void add_quantize_command(CLI::App& app);  // tools/cmd_quantize.cpp

// --threads N, shared by the commands that compute.
void add_threads_option(CLI::App& cmd, int& threads);
void apply_threads(int threads);

// Every numeric flag is checked with one of these, on its text before conversion, so the
// message names the flag, the real range and the value ("--batch-size: must be an integer
// >= 1, got 0"), and "1.5" for a count or "-1" for a seed is refused rather than
// truncated or wrapped around.
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
CLI::Validator integer_range(int64_t lo, int64_t hi = kNoLimit);
// A finite real number >= lo (> lo when lo_exclusive) and <= hi.
CLI::Validator number_range(double lo, double hi = std::numeric_limits<double>::max(), bool lo_exclusive = false);

// The command line as typed (shell-quoted where needed), for the run's config.json.
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace mg::tools
