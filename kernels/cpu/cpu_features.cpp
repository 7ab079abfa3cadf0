#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/isa_kernels.h"

namespace mg::kernels::cpu {

// __builtin_cpu_supports reads CPUID once (at load time) and clears the AVX and
// AVX-512 bits when the OS does not save those registers (XGETBV), so a "true"
// here means the instructions are safe to run.
bool has_avx2_fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool has_avx512() {
    __builtin_cpu_init();
    return has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

std::vector<const IsaKernels*> cpu_isas() {
    std::vector<const IsaKernels*> isas;
#if defined(__x86_64__)
    if (has_avx2_fma()) isas.push_back(&avx2_kernels());
    if (has_avx512()) isas.push_back(&avx512_kernels());
#endif
    return isas;
}

std::string cpu_feature_string() {
    __builtin_cpu_init();
    struct Feature {
        const char* name;
        bool present;
    };
    // __builtin_cpu_supports needs a string literal, hence one line per feature.
    const Feature features[] = {
        {"sse4.2", bool(__builtin_cpu_supports("sse4.2"))},
        {"avx", bool(__builtin_cpu_supports("avx"))},
        {"avx2", bool(__builtin_cpu_supports("avx2"))},
        {"fma", bool(__builtin_cpu_supports("fma"))},
        {"avx512f", bool(__builtin_cpu_supports("avx512f"))},
        {"avx512bw", bool(__builtin_cpu_supports("avx512bw"))},
        {"avx512dq", bool(__builtin_cpu_supports("avx512dq"))},
        {"avx512vl", bool(__builtin_cpu_supports("avx512vl"))},
        {"avx512vnni", bool(__builtin_cpu_supports("avx512vnni"))},
        {"avx512bf16", bool(__builtin_cpu_supports("avx512bf16"))},
    };
    std::string out;
    for (const Feature& f : features) {
        if (!f.present) continue;
        if (!out.empty()) out += ' ';
        out += f.name;
    }
    return out.empty() ? "none" : out;
}

}  // namespace mg::kernels::cpu
