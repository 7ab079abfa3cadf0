#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace mg {

CountProgress::CountProgress(std::string label, int64_t total, std::string unit, bool enabled)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()), last_print_(start_) {}

void CountProgress::update(int64_t done) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_print_).count();
    if (since < (tty_ ? 0.25 : plain_interval_s)) return;
    last_print_ = now;
    print(done, false);
}

void CountProgress::finish(int64_t done, bool always) {
    if (enabled_ && (printed_ || always)) print(done, true);
}

void CountProgress::print(int64_t done, bool last) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
    std::string line = fmt::format("{}  {}/{}  {:.0f}%  {:.0f} {}/s", label_, done, total_,
                                   total_ > 0 ? 100.0 * double(done) / double(total_) : 100.0, rate, unit_);
    if (last) line += fmt::format("  took {:.1f}s", elapsed);
    else if (rate > 0) line += fmt::format("  eta {:.1f}s", double(total_ - done) / rate);
    if (tty_) fmt::print(stderr, "\r\033[K{}{}", line, last ? "\n" : "");
    else fmt::print(stderr, "{}\n", line);
    std::fflush(stderr);
    printed_ = true;
}

}  // namespace mg
