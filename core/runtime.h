// Process-wide runtime settings and facts: threads, the OpenMP wait policy, build, devices.
#pragma once

#include <string>

namespace mg {

// Intra-op threads for the CPU kernels (OpenMP). Results are bitwise reproducible
// for a given seed and thread count.
void set_num_threads(int n);
int num_threads();

// ---- how idle OpenMP threads wait ------------------------------------------------------
// libgomp's default spins a waiting thread for about 300000 pauses (7 ms on a Zen 4) at
// every barrier and between parallel regions. When any other process wants a core, the
// spinning thread uses up its time slice doing nothing, is preempted, and its whole team
// then waits a scheduler slice of the other process at the next barrier: training ran 30-100x
// slower on a 2-core machine beside one busy process, even a nice 19 one. A passive wait
// (sleep at once) cures that but pays a wake-up (about 30 us) at every parallel region, which
// made the small models 15-50% slower on an idle machine. So minigen's executables spin, then
// sleep: a waiting thread spins for kSpinBeforeSleepNs, about what waking a sleeping thread
// costs and far below a scheduler time slice (milliseconds), then sleeps. GOMP_SPINCOUNT
// counts pause instructions, whose length differs 10x between CPUs, so the count comes from
// timing them at start-up. A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone.
inline constexpr double kSpinBeforeSleepNs = 50e3;

// Whether the user chose how OpenMP threads wait: OMP_WAIT_POLICY or GOMP_SPINCOUNT set
// (nullptr: unset; empty counts as unset).
bool omp_wait_chosen(const char* omp_wait_policy, const char* gomp_spincount);

// The GOMP_SPINCOUNT that spins for spin_ns when one spin lasts ns_per_spin (at least 1).
long long spin_count_for(double spin_ns, double ns_per_spin);

// How long one spin of libgomp's wait loop (one pause instruction) lasts on this CPU.
double measure_ns_per_spin();

// When envp chose no wait (omp_wait_chosen), runs this program again from its start
// (execve of /proc/self/exe, same arguments) with GOMP_SPINCOUNT for kSpinBeforeSleepNs
// added. Returns only when it did not (a choice was made, or the exec failed: the program
// runs on with libgomp's default). libgomp reads its environment once, before main(), and
// libc's start-up resets the environment to the one the process was started with, so
// setenv() cannot reach it: only a new exec can. Called from an executable's .preinit_array
// (core/omp_wait_policy_startup.h), before any library has started, so the first start
// costs a millisecond.
void exec_with_default_omp_wait_policy(char** argv, char** envp);

// How this process's OpenMP threads wait, in words, for `minigen bench`:
// "GOMP_SPINCOUNT=2000", "OMP_WAIT_POLICY=passive" or "spinning (libgomp's default)".
std::string omp_wait_policy();

struct BuildInfo {
    std::string version;
    std::string compiler;
    std::string build_type;
    std::string cxx_flags;
    bool cuda = false;  // compiled with the CUDA backend
};
BuildInfo build_info();

}  // namespace mg
