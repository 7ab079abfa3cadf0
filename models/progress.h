// A live progress line: step/total, rate, ETA and the latest losses.
//
// On a terminal it rewrites one line in place ("\r"); when stderr is a file or a
// pipe (CI, `2> log`) it prints a plain line every few seconds instead, so logs
// stay readable.
#pragma once

#include <chrono>
#include <cstdint>
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

// "1m23s", "4.2s", "2h05m"
std::string format_duration(double seconds);

}  // namespace mg::models
