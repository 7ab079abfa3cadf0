#include "core/dist/watchdog.h"

namespace mg::dist {

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Watchdog::arm(const char* what, double seconds) {
    {
        std::lock_guard lock(mutex_);
        what_ = what;
        seconds_ = seconds;
        deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
        armed_ = true;
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    wake_.notify_all();
}

void Watchdog::disarm() {
    std::lock_guard lock(mutex_);
    armed_ = false;  // the thread finds out at its next wake-up; no notify needed
}

void Watchdog::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        if (!armed_) {
            wake_.wait(lock);
        } else if (Clock::now() < deadline_) {
            wake_.wait_until(lock, deadline_);
        } else {
            armed_ = false;
            const char* what = what_;
            const double seconds = seconds_;
            lock.unlock();
            on_expire_(what, seconds);
            lock.lock();
        }
    }
}

}  // namespace mg::dist
