// Process-wide runtime settings and facts: threads, build, devices.
#pragma once

#include <string>

namespace mg {

// Intra-op threads for the CPU kernels (OpenMP). Results are bitwise reproducible
// for a given seed and thread count.
void set_num_threads(int n);
int num_threads();

struct BuildInfo {
    std::string version;
    std::string compiler;
    std::string build_type;
    std::string cxx_flags;
    bool cuda = false;  // compiled with the CUDA backend
};
BuildInfo build_info();

}  // namespace mg
