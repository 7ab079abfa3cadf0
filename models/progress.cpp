#include "models/progress.h"

#include <cstdio>
#include <unistd.h>

#include <fmt/format.h>

namespace mg::models {

std::string format_duration(double s) {
    if (s < 0 || s != s) return "?";
    if (s < 60) return fmt::format("{:.1f}s", s);
    auto total = int64_t(s + 0.5);
    if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, int(total % 60));
    return fmt::format("{}h{:02d}m", total / 3600, int(total / 60 % 60));
}

ProgressLine::ProgressLine(std::string label, int64_t total_steps, int64_t items_per_step, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total_steps), items_per_step_(items_per_step),
      start_(std::chrono::steady_clock::now()), last_print_(start_), tty_(isatty(STDERR_FILENO) == 1) {}

double ProgressLine::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressLine::format(int64_t step, const std::string& latest) const {
    auto now = std::chrono::steady_clock::now();
    // The rate counts from the first step seen, so start-up and a resumed run's
    // earlier steps do not distort it.
    double span = first_step_ < 0 ? 0 : std::chrono::duration<double>(now - first_step_time_).count();
    int64_t done = first_step_ < 0 ? 0 : step - first_step_;
    double steps_per_s = span > 0 ? double(done) / span : 0;
    double eta = steps_per_s > 0 ? double(total_ - step) / steps_per_s : -1;
    int pct = total_ > 0 ? int(100 * step / total_) : 0;
    return fmt::format("{} {:>3}% {}/{}  {:.1f} {}/s  elapsed {}  eta {}  {}", label_, pct, step, total_,
                       steps_per_s * double(items_per_step_), unit_, format_duration(elapsed_s()),
                       eta < 0 ? "?" : format_duration(eta), latest);
}

void ProgressLine::update(int64_t step, const std::string& latest) {
    auto now = std::chrono::steady_clock::now();
    if (first_step_ < 0) {
        first_step_ = step;
        first_step_time_ = now;
        return;
    }
    double since = std::chrono::duration<double>(now - last_print_).count();
    if (tty_ ? since < 0.2 : since < plain_interval_s) return;
    last_print_ = now;
    std::string line = format(step, latest);
    if (tty_) std::fprintf(stderr, "\r\033[K%s", line.c_str());
    else std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

namespace {
thread_local WorkObserver* t_observer = nullptr;
thread_local WorkCallback* t_callback = nullptr;
}  // namespace

void report_work(int64_t done, int64_t total) {
    if (t_callback && *t_callback) (*t_callback)(done, total);
}

WorkObserver::WorkObserver(WorkCallback callback) : callback_(std::move(callback)), previous_(t_observer) {
    t_observer = this;
    t_callback = &callback_;
}

WorkObserver::~WorkObserver() {
    t_observer = previous_;
    t_callback = previous_ ? &previous_->callback_ : nullptr;
}

Phase::Phase(std::string label, std::string unit, std::function<void()> on_tick, double quiet_s)
    : label_(std::move(label)), unit_(std::move(unit)), on_tick_(std::move(on_tick)), quiet_s_(quiet_s),
      start_(std::chrono::steady_clock::now()), observer_([this](int64_t done, int64_t total) {
          if (on_tick_) on_tick_();
          if (total != line_total_ || done < last_done_) {  // a new chunk of work: a fresh rate
              line_ = std::make_unique<ProgressLine>(label_, total, 1, unit_);
              line_total_ = total;
              line_->update(done, "");
          }
          last_done_ = done;
          line_->update(done, "");
      }) {}

Phase::~Phase() {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (s < quiet_s_) return;
    const bool tty = isatty(STDERR_FILENO) == 1;
    std::fprintf(stderr, "%s%s: done in %s\n", tty ? "\r\033[K" : "", label_.c_str(), format_duration(s).c_str());
    std::fflush(stderr);
}

void ProgressLine::finish(int64_t step, const std::string& latest) {
    std::string line = format(step, latest);
    if (tty_) std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
    else std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace mg::models
