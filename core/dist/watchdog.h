// Watchdog: a thread that calls `on_expire` when a guarded call (a collective) has run past
// its deadline, so a rank waiting for a hung or dead peer ends instead of waiting forever.
//
//   Watchdog dog([](const char* what, double s) { ...report, then MPI_Abort... });
//   { Watchdog::Guard g(dog, "MPI_Allreduce", 300); MPI_Allreduce(...); }
//
// One guarded call at a time (the collectives run on the main thread only). A timeout <= 0
// disables the guard. on_expire runs on the watchdog's thread and is expected not to return
// (it ends the process); if it does, the call is not watched again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mg::dist {

class Watchdog {
public:
    using OnExpire = std::function<void(const char* what, double seconds)>;
    explicit Watchdog(OnExpire on_expire) : on_expire_(std::move(on_expire)) {}
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    struct Guard {
        Guard(Watchdog& dog, const char* what, double seconds) : dog_(dog), armed_(seconds > 0) {
            if (armed_) dog_.arm(what, seconds);
        }
        ~Guard() {
            if (armed_) dog_.disarm();
        }
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;

    private:
        Watchdog& dog_;
        bool armed_;
    };

private:
    using Clock = std::chrono::steady_clock;
    void arm(const char* what, double seconds);
    void disarm();
    void run();

    OnExpire on_expire_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;  // started by the first arm()
    bool armed_ = false, stop_ = false;
    const char* what_ = "";
    double seconds_ = 0;
    Clock::time_point deadline_{};
};

}  // namespace mg::dist
