// A busy machine: the OpenMP wait policy minigen starts with, and the bench's competing
// process (started, reniced, always killed). No timing is asserted.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/runtime.h"

TEST_CASE("runtime: minigen chooses the OpenMP wait only when the user did not") {
    CHECK_FALSE(mg::omp_wait_chosen(nullptr, nullptr));
    CHECK_FALSE(mg::omp_wait_chosen("", ""));  // empty is unset
    CHECK(mg::omp_wait_chosen("active", nullptr));
    CHECK(mg::omp_wait_chosen("PASSIVE", nullptr));
    CHECK(mg::omp_wait_chosen(nullptr, "10000"));
    CHECK(mg::omp_wait_chosen("active", "0"));
}

TEST_CASE("runtime: the spin count spins for the given time at the measured speed") {
    CHECK(mg::spin_count_for(50e3, 25.0) == 2000);  // a Zen 4 pause
    CHECK(mg::spin_count_for(50e3, 140.0) == 357);  // a long Intel pause
    CHECK(mg::spin_count_for(50e3, 1e9) == 1);      // never 0 (that would be passive)
    CHECK(mg::spin_count_for(50e3, 0.0) == 1);      // a broken clock: barely spin
    CHECK(mg::spin_count_for(50e3, -1.0) == 1);
    const double ns = mg::measure_ns_per_spin();
    CHECK(ns > 0);
    CHECK(ns < 1e6);
}

TEST_CASE("runtime: no second start when the environment chose a wait policy") {
    char arg0[] = "/nonexistent/minigen";
    char* argv[] = {arg0, nullptr};
    char active[] = "OMP_WAIT_POLICY=active", spins[] = "GOMP_SPINCOUNT=1000", other[] = "HOME=/tmp";
    char* with_policy[] = {other, active, nullptr};
    char* with_spins[] = {spins, other, nullptr};
    mg::exec_with_default_omp_wait_policy(argv, with_policy);  // returns: nothing to change
    mg::exec_with_default_omp_wait_policy(argv, with_spins);
    mg::exec_with_default_omp_wait_policy(argv, nullptr);
    CHECK(true);
}

TEST_CASE("runtime: the test binary started with a chosen OpenMP wait (the user's or minigen's)") {
    // tests/main.cpp includes core/omp_wait_policy_startup.h, as the CLI does.
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spins = std::getenv("GOMP_SPINCOUNT");
    REQUIRE(mg::omp_wait_chosen(policy, spins));
    CHECK(mg::omp_wait_policy() != "spinning (libgomp's default)");
    if (spins) CHECK(std::atoll(spins) > 0);
}

#ifdef MINIGEN_TESTS_HAVE_BENCH
#include "tools/bench.h"

namespace {

bool alive(int pid) { return kill(pid, 0) == 0; }

// The nice level of pid once it has reniced itself (it does so right after fork).
int settled_nice(int pid, int expected) {
    int value = 0;
    for (int i = 0; i < 200; ++i) {
        errno = 0;
        value = getpriority(PRIO_PROCESS, id_t(pid));
        if (value == expected) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return value;
}

}  // namespace

TEST_CASE("bench: the competing process runs at its nice level and is reaped by the destructor") {
    int pid = -1;
    {
        mg::tools::bench::SpinningProcess competitor(19);
        pid = competitor.pid();
        REQUIRE(pid > 0);
        CHECK(alive(pid));
        CHECK(settled_nice(pid, 19) == 19);
    }
    CHECK_FALSE(alive(pid));  // killed and waited for: not even a zombie is left
    CHECK(errno == ESRCH);
}

TEST_CASE("bench: the competing process dies when an exception leaves its scope") {
    int pid = -1;
    try {
        mg::tools::bench::SpinningProcess competitor(0);
        pid = competitor.pid();
        REQUIRE(alive(pid));
        throw std::runtime_error("a failed measurement");
    } catch (const std::runtime_error&) {
    }
    REQUIRE(pid > 0);
    CHECK_FALSE(alive(pid));
}
#endif
