// Process-wide runtime settings and facts: threads, the OpenMP wait policy, build, devices.
#pragma once

#include <string>

namespace mg {

// Intra-op threads for the CPU kernels (OpenMP). Results are bitwise reproducible
// for a given seed and thread count.
void set_num_threads(int n);
int num_threads();

// ---- how idle OpenMP threads wait ------------------------------------------------------
// libgomp's default spins a waiting thread for about 3 ms (300000 spins) at every barrier
// and between parallel regions. When any other process wants a core, the spinning thread
// uses up its time slice doing nothing, is preempted, and its whole team then waits a
// scheduler slice of the other process at the next barrier: training ran 30-100x slower on a
// 2-core machine beside one busy process, even a nice 19 one. A passive wait sleeps at once,
// and the woken thread preempts the other process. So minigen's executables start with
// OMP_WAIT_POLICY=passive unless the user chose a policy (core/omp_wait_policy_startup.h).

// What minigen sets OMP_WAIT_POLICY to, given the environment's OMP_WAIT_POLICY and
// GOMP_SPINCOUNT (nullptr: unset): "passive" when the user set neither, else nullptr.
const char* default_omp_wait_policy(const char* omp_wait_policy, const char* gomp_spincount);

// When envp sets neither, runs this program again from its start (execve of
// /proc/self/exe, same arguments) with OMP_WAIT_POLICY=passive added. Returns only when it
// did not (a policy was set, or the exec failed: the program runs on, spinning). libgomp
// reads its environment once, before main(), and libc's start-up resets the environment to
// the one the process was started with, so setenv() cannot reach it: only a new exec can.
// Called from an executable's .preinit_array (core/omp_wait_policy_startup.h), before any
// library has started, which makes the second start cheap.
void exec_with_default_omp_wait_policy(char** argv, char** envp);

// The wait policy this process runs with, in words, for `minigen bench`:
// "OMP_WAIT_POLICY=passive", "GOMP_SPINCOUNT=1000" or "spinning (libgomp's default)".
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
