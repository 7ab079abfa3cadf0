// Detection of the reduced-precision instruction sets (cpu_features.h's LowpFeatures).
//
// __builtin_cpu_supports knows AVX512-VNNI and BF16 but not every GCC knows AVX-VNNI or AMX,
// so this reads CPUID and XCR0 itself. A feature counts only when the OS saves its registers:
//   AVX / AVX-VNNI: XCR0 bits 1-2 (SSE, AVX); AVX-512: also bits 5-7 (opmask, ZMM halves);
//   AMX: bits 17-18 (XTILECFG, XTILEDATA), and on Linux the process must request the tile
//   data state once (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) before the first
//   tile instruction, or that instruction faults.
#include <atomic>

#if defined(__x86_64__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

#include "kernels/cpu/cpu_features.h"

namespace mg::kernels::cpu {

namespace {

#if defined(__x86_64__)
uint64_t read_xcr0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

// Linux: ask for the AMX tile data state; true when granted (or already granted).
bool request_amx_permission() {
#if defined(__linux__)
    constexpr long kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023;
    constexpr int kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
    unsigned long granted = 0;
    if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &granted) != 0) return false;
    return (granted >> kXfeatureXtiledata) & 1;
#else
    return false;
#endif
}
#endif

LowpFeatures detect() {
    LowpFeatures f;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7 || !__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = (c >> 27) & 1;
    if (!osxsave) return f;
    const uint64_t xcr0 = read_xcr0();
    const bool os_avx = (xcr0 & 0x6) == 0x6;
    const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    const bool os_amx = (xcr0 & 0x60000) == 0x60000;

    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    __cpuid_count(7, 0, a, b7, c7, d7);
    const unsigned max_subleaf = a;
    if (max_subleaf >= 1) __cpuid_count(7, 1, a71, b, c, d);
    const bool avx512_base =
        ((b7 >> 16) & 1) && ((b7 >> 17) & 1) && ((b7 >> 30) & 1) && ((b7 >> 31) & 1);  // F DQ BW VL
    f.avx512_vnni = os_avx512 && avx512_base && ((c7 >> 11) & 1);
    f.avx512_bf16 = os_avx512 && avx512_base && ((a71 >> 5) & 1);
    f.avx_vnni = os_avx && ((a71 >> 4) & 1);
    f.amx_in_cpuid = (d7 >> 24) & 1;
    if (f.amx_in_cpuid && os_amx && request_amx_permission()) {
        f.amx_tile = true;
        f.amx_int8 = (d7 >> 25) & 1;
        f.amx_bf16 = (d7 >> 22) & 1;
    }
#endif
    return f;
}

std::atomic<const LowpFeatures*> g_fake{nullptr};

}  // namespace

const LowpFeatures& lowp_features() {
    if (const LowpFeatures* fake = g_fake.load(std::memory_order_acquire)) return *fake;
    static const LowpFeatures detected = detect();
    return detected;
}

void set_lowp_features_for_test(const LowpFeatures* fake) { g_fake.store(fake, std::memory_order_release); }

std::string lowp_feature_string() {
    const LowpFeatures& f = lowp_features();
    const std::pair<const char*, bool> names[] = {{"avx512_vnni", f.avx512_vnni}, {"avx_vnni", f.avx_vnni},
                                                  {"avx512_bf16", f.avx512_bf16}, {"amx_tile", f.amx_tile},
                                                  {"amx_int8", f.amx_int8},       {"amx_bf16", f.amx_bf16}};
    std::string out;
    auto add = [&](const char* name) {
        if (!out.empty()) out += ' ';
        out += name;
    };
    for (auto [name, present] : names)
        if (present) add(name);
    if (f.amx_in_cpuid && !f.amx_tile) add("amx (no OS permission)");
    return out.empty() ? "none" : out;
}

}  // namespace mg::kernels::cpu
