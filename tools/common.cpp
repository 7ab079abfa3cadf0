#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/runtime.h"
#include "tools/cli.h"

namespace mg::tools {

void add_threads_option(CLI::App& cmd, int& threads) {
    cmd.add_option("--threads", threads, "CPU threads for the kernels (default: all cores)")
        ->check(integer_range(1, 4096));
}

void apply_threads(int threads) {
    if (threads > 0) set_num_threads(threads);
}

namespace {

std::string range_text(const std::string& kind, double lo, double hi, bool lo_exclusive, bool bounded) {
    if (!bounded) return fmt::format("must be {} {} {}", kind, lo_exclusive ? ">" : ">=", lo);
    return fmt::format("must be {} {} {} and <= {}", kind, lo_exclusive ? ">" : ">=", lo, hi);
}

}  // namespace

CLI::Validator integer_range(int64_t lo, int64_t hi) {
    const std::string range =
        hi == kNoLimit ? fmt::format("an integer >= {}", lo) : fmt::format("an integer in {}..{}", lo, hi);
    return CLI::Validator(
        [lo, hi, range](std::string& text) -> std::string {
            const char* begin = text.data();
            const char* end = text.data() + text.size();
            if (begin != end && *begin == '+') ++begin;
            int64_t v = 0;
            auto [ptr, ec] = std::from_chars(begin, end, v);
            if (ec == std::errc::result_out_of_range) return fmt::format("must be {}, got {} (out of range)", range, text);
            if (ec != std::errc() || ptr != end || begin == end)
                return fmt::format("must be {}, got '{}' (not a whole number)", range, text);
            if (v < lo || v > hi) return fmt::format("must be {}, got {}", range, text);
            return {};
        },
        range);
}

CLI::Validator number_range(double lo, double hi, bool lo_exclusive) {
    const bool bounded = hi != std::numeric_limits<double>::max();
    const std::string message = range_text("a number", lo, hi, lo_exclusive, bounded);
    return CLI::Validator(
        [lo, hi, lo_exclusive, message](std::string& text) -> std::string {
            char* end = nullptr;
            errno = 0;
            double v = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size())
                return fmt::format("{}, got '{}' (not a number)", message, text);
            if (!std::isfinite(v) || errno == ERANGE) return fmt::format("{}, got {} (not finite)", message, text);
            if ((lo_exclusive ? v <= lo : v < lo) || v > hi) return fmt::format("{}, got {}", message, text);
            return {};
        },
        message.substr(std::string("must be ").size()));
}

namespace {
std::string g_command_line;

// A word as a POSIX shell would need it to read it back.
std::string shell_quote(const std::string& word) {
    if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                "-_./=:,+@%") == std::string::npos)
        return word;
    std::string q = "'";
    for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}
}  // namespace

void set_command_line(int argc, char** argv) {
    g_command_line.clear();
    for (int i = 0; i < argc; ++i) {
        g_command_line += (i ? " " : "") + shell_quote(argv[i]);
    }
}

const std::string& command_line() { return g_command_line; }

}  // namespace mg::tools
