// A progress line for long counted work below models/ (decoding a data set into its cache):
// "decoding images  1200/5000  24%  812 img/s  eta 4.7s". On a terminal it rewrites one
// line ("\r") a few times a second; when stderr is a file or a pipe it prints a plain line
// every `plain_interval_s` seconds. (models/progress.h has the trainer's richer line.)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mg {

class CountProgress {
public:
    CountProgress(std::string label, int64_t total, std::string unit = "img", bool enabled = true);
    // `done` items of `total` are finished; prints only when the interval has passed.
    void update(int64_t done);
    // The closing line: count, rate and time taken (printed if any line was, or `always`).
    void finish(int64_t done, bool always = false);
    double plain_interval_s = 10.0;

private:
    void print(int64_t done, bool last);
    std::string label_, unit_;
    int64_t total_;
    bool enabled_, tty_, printed_ = false;
    std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace mg
