#include "core/runtime.h"
#include "tools/cli.h"

namespace mg::tools {

void add_threads_option(CLI::App& cmd, int& threads) {
    cmd.add_option("--threads", threads, "CPU threads for the kernels (default: all cores)")
        ->check(CLI::PositiveNumber);
}

void apply_threads(int threads) {
    if (threads > 0) set_num_threads(threads);
}

}  // namespace mg::tools
