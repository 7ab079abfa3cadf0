// The data caches of the core this process runs on, and the CPU's model string: what the
// GEMM blocking (gemm_blocking.h) is derived from and what `minigen info` shows.
//
// Read from cpuid (Intel leaf 4, AMD leaf 0x8000001D: the same register layout), else from
// Linux's /sys/devices/system/cpu/cpu0/cache (which the kernel fills from the same leaves),
// else stated defaults; `source` says which.
#pragma once

#include <cstdint>
#include <string>

namespace mg::kernels::cpu {

struct CacheLevel {
    int64_t size = 0;   // bytes; 0 = this level is absent or unknown
    int line = 0;       // bytes per line
    int ways = 0;       // associativity; 0 = unknown or fully associative
    int shared_by = 0;  // logical CPUs that share it (cpuid: the most the package allows)
};

struct CacheInfo {
    CacheLevel l1d, l2, l3;
    std::string model;   // the brand string, e.g. "AMD EPYC 9R14 96-Core Processor"
    std::string source;  // "cpuid", "sysfs" or "defaults"
};

// Detected once, on first use.
const CacheInfo& cache_info();

// The pieces, for tests: each leaves a level zero where its source does not say.
CacheInfo cache_info_from_cpuid();
CacheInfo cache_info_from_sysfs(const std::string& dir = "/sys/devices/system/cpu/cpu0/cache");
// L1d 32 KiB 8-way, L2 1 MiB 8-way, L3 8 MiB 16-way shared by 8, 64-byte lines: used when
// neither source says (a virtual machine may hide both).
CacheInfo default_cache_info();

// The CPU's brand string (cpuid 0x80000002..4, else /proc/cpuinfo's "model name"), trimmed;
// "unknown CPU" when neither says.
std::string cpu_model_string();

// "32 KiB 8-way", "1 MiB" (ways unknown), "absent": one level for `minigen info`.
std::string describe_cache_level(const CacheLevel& level);

}  // namespace mg::kernels::cpu
