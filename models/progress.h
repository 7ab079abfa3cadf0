// A live progress line: step/total, rate, ETA and the latest losses.
//
// On a terminal it rewrites one line in place ("\r"); when stderr is a file or a
// pipe (CI, `2> log`) it prints a plain line every few seconds instead, so logs
// stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace mg::models {

class ProgressLine {
public:
    // unit: what a step processes per second, e.g. "img" with items_per_step = batch.
    ProgressLine(std::string label, int64_t total_steps, int64_t items_per_step, std::string unit);
    // Call after each step; prints at most a few times per second (terminal) or every
    // `plain_interval_s` seconds (not a terminal).
    void update(int64_t step, const std::string& latest);
    // Ends the line with a final summary.
    void finish(int64_t step, const std::string& latest);
    double elapsed_s() const;
    double plain_interval_s = 10.0;

private:
    std::string format(int64_t step, const std::string& latest) const;
    std::string label_, unit_;
    int64_t total_, items_per_step_;
    int64_t first_step_ = -1;
    std::chrono::steady_clock::time_point start_, first_step_time_, last_print_;
    bool tty_;
};

// ---- progress of work inside one call ---------------------------------------------------
// Long work with a count (an autoregressive sampler's pixels) calls report_work(done, total)
// as it goes; whoever wants to show it installs a WorkObserver around the call. Without
// one, report_work does nothing, so library code can report unconditionally.
using WorkCallback = std::function<void(int64_t done, int64_t total)>;
void report_work(int64_t done, int64_t total);

class WorkObserver {  // installs `callback` for this thread until destroyed (nests)
public:
    explicit WorkObserver(WorkCallback callback);
    ~WorkObserver();
    WorkObserver(const WorkObserver&) = delete;
    WorkObserver& operator=(const WorkObserver&) = delete;

private:
    WorkCallback callback_;
    WorkObserver* previous_;
};

// A phase outside the training steps (the sample grid, the evaluator, the report): while
// it runs, every report_work() inside it is shown as its own progress line with rate and
// ETA ("step 3 samples  45% 353/784 px  12.1 px/s  elapsed 29.2s  eta 35.6s"); when it
// ends after more than `quiet_s` seconds, one line says how long it took. `on_tick` runs
// at every report (the trainer stops a phase there when a signal asks it to).
class Phase {
public:
    explicit Phase(std::string label, std::string unit = "px", std::function<void()> on_tick = {},
                   double quiet_s = 2.0);
    ~Phase();
    Phase(const Phase&) = delete;
    Phase& operator=(const Phase&) = delete;

private:
    std::string label_, unit_;
    std::function<void()> on_tick_;
    double quiet_s_;
    std::unique_ptr<ProgressLine> line_;
    int64_t line_total_ = -1, last_done_ = 0;
    std::chrono::steady_clock::time_point start_;
    WorkObserver observer_;
};

// "1m23s", "4.2s", "2h05m"
std::string format_duration(double seconds);

}  // namespace mg::models
