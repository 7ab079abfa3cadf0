// The busy-machine group of `minigen bench`: the training steps of gan2d, vae and dcgan idle
// and beside one other process that wants a core all the time, spinning at nice 19 and at
// nice 0. With OpenMP's spinning waits these steps ran 30-100x slower on a 2-core machine
// (see core/runtime.h); the rows show what a run costs when the machine is shared.
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/runtime.h"
#include "tools/bench.h"

namespace mg::tools::bench {

SpinningProcess::SpinningProcess(int nice_increment) {
    const pid_t parent = getpid();
    const pid_t pid = fork();
    MG_CHECK(pid >= 0, "bench: cannot start a competing process ({})", std::strerror(errno));
    if (pid == 0) {
        // The child of a threaded process: only async-signal-safe calls from here on.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);  // the parent died before prctl took effect
        errno = 0;
        if (nice(nice_increment) == -1 && errno != 0) _exit(1);
        volatile unsigned long spins = 0;
        for (;;) spins = spins + 1;
    }
    pid_ = pid;
}

SpinningProcess::~SpinningProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

namespace {

struct BusyCase {
    const char* variant;
    int nice_increment;  // < 0: no competitor
};
constexpr BusyCase kCases[] = {{"idle", -1}, {"nice 19", 19}, {"nice 0", 0}};

// Fewer steps than the model table: each step is timed three times over.
int busy_samples(const RunOptions& opt, const WorkloadSteps& steps) {
    return opt.repeat > 0 ? opt.repeat : std::max(5, steps.steps / 3);
}

}  // namespace

void run_busy_group(const RunOptions& opt) {
    for (const char* name : {"gan2d", "vae", "dcgan"}) {
        if (!opt.selected(fmt::format("{} busy", name))) continue;
        Result base;
        base.kind = "busy";
        WorkloadSteps steps = prepare_workload(name, opt, base);
        if (!steps.step) {
            opt.emit(std::move(base));
            continue;
        }
        base.note = omp_wait_policy();
        double idle_ms = 0;
        for (const BusyCase& c : kCases) {
            opt.progress(fmt::format("{}: timing training steps, {}", name, c.variant));
            Result r = base;
            r.variant = c.variant;
            TimingOptions t;
            t.samples = busy_samples(opt, steps);
            t.warmup = steps.warmup;
            t.max_warmup_s = 0;
            if (c.nice_increment < 0) {
                r.timing = time_calls(steps.step, t);
                idle_ms = r.timing.median_ms;
            } else {
                SpinningProcess competitor(c.nice_increment);
                r.timing = time_calls(steps.step, t);
            }
            r.timed = true;
            r.items_per_s = double(r.batch) / (r.timing.median_ms * 1e-3);
            r.slowdown = r.timing.median_ms / idle_ms;
            opt.emit(std::move(r));
        }
    }
}

}  // namespace mg::tools::bench
