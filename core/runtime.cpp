#include "core/runtime.h"

#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/base.h"
#include "kernels/device.h"

#ifndef MINIGEN_COMPILER
#define MINIGEN_COMPILER "unknown"
#define MINIGEN_BUILD_TYPE "unknown"
#define MINIGEN_CXX_FLAGS ""
#endif

namespace mg {

void set_num_threads(int n) {
    MG_CHECK(n >= 1, "set_num_threads: need at least one thread, got {}", n);
    omp_set_num_threads(n);
}
int num_threads() { return omp_get_max_threads(); }

namespace {
// name's value in envp, or nullptr (before libc has started, getenv cannot be trusted).
const char* env_value(char** envp, const char* name) {
    const size_t len = std::strlen(name);
    for (char** e = envp; e && *e; ++e)
        if (std::strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
    return nullptr;
}
}  // namespace

bool omp_wait_chosen(const char* omp_wait_policy, const char* gomp_spincount) {
    return (omp_wait_policy && *omp_wait_policy) || (gomp_spincount && *gomp_spincount);
}

long long spin_count_for(double spin_ns, double ns_per_spin) {
    if (!(ns_per_spin > 0) || !(spin_ns > 0)) return 1;
    return std::clamp<long long>(std::llround(spin_ns / ns_per_spin), 1, 1000000000LL);
}

double measure_ns_per_spin() {
    // libgomp's wait loop: one pause ("rep; nop") per spin, then a load. Best of 5 runs of
    // 2000 spins (0.05-0.3 ms each, by CPU) so that one interruption does not count.
    constexpr int kSpins = 2000;
    double best = 0;
    for (int run = 0; run < 5; ++run) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < kSpins; ++i) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#else
            __asm__ __volatile__("" ::: "memory");
#endif
        }
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        if (run == 0 || ns < best) best = ns;
    }
    return best / kSpins;
}

void exec_with_default_omp_wait_policy(char** argv, char** envp) {
    if (!argv || !argv[0] || !envp) return;
    if (omp_wait_chosen(env_value(envp, "OMP_WAIT_POLICY"), env_value(envp, "GOMP_SPINCOUNT"))) return;
    // The environment plus one entry, on the stack: the C++ runtime has not started yet.
    char entry[64];
    std::snprintf(entry, sizeof entry, "GOMP_SPINCOUNT=%lld", spin_count_for(kSpinBeforeSleepNs, measure_ns_per_spin()));
    size_t n = 0;
    while (envp[n]) ++n;
    if (n > 100000) return;
    char** env = static_cast<char**>(__builtin_alloca((n + 2) * sizeof(char*)));
    for (size_t i = 0; i < n; ++i) env[i] = envp[i];
    env[n] = entry;
    env[n + 1] = nullptr;
    execve("/proc/self/exe", argv, env);  // returns only on failure: run on with libgomp's default
}

std::string omp_wait_policy() {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spins = std::getenv("GOMP_SPINCOUNT");
    if (spins && *spins) return std::string("GOMP_SPINCOUNT=") + spins;
    if (policy && *policy) return std::string("OMP_WAIT_POLICY=") + policy;
    return "spinning (libgomp's default)";
}

BuildInfo build_info() {
    return {"0.1.0", MINIGEN_COMPILER, MINIGEN_BUILD_TYPE, MINIGEN_CXX_FLAGS, kernels::cuda::built_with_cuda()};
}

}  // namespace mg
