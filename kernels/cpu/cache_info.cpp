#include "kernels/cpu/cache_info.h"

#include <cstring>
#include <fstream>
#include <sstream>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <fmt/format.h>

namespace mg::kernels::cpu {

namespace {

std::string trim(std::string s) {
    const size_t first = s.find_first_not_of(" \t\n");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t\n") - first + 1);
}

// Stores a cache of `level` (1..3) and `type` (1 data, 2 instruction, 3 unified) in `info`.
void put_level(CacheInfo& info, int level, int type, const CacheLevel& c) {
    if (type == 2 || c.size <= 0) return;  // instruction caches do not hold GEMM panels
    if (level == 1 && type == 1) info.l1d = c;
    if (level == 2) info.l2 = c;
    if (level == 3) info.l3 = c;
}

#if defined(__x86_64__) || defined(__i386__)
// Leaf 4 (Intel) and 0x8000001D (AMD) describe one cache per subleaf, until type 0:
//   eax[4:0] type, eax[7:5] level, eax[25:14] logical CPUs sharing it - 1,
//   ebx[11:0] line - 1, ebx[21:12] partitions - 1, ebx[31:22] ways - 1, ecx sets - 1.
bool read_cache_leaf(unsigned leaf, CacheInfo& info) {
    unsigned eax, ebx, ecx, edx;
    bool any = false;
    for (unsigned sub = 0; sub < 16; ++sub) {
        if (!__get_cpuid_count(leaf, sub, &eax, &ebx, &ecx, &edx)) return any;
        const int type = int(eax & 0x1f);
        if (type == 0) break;
        const int level = int((eax >> 5) & 0x7);
        CacheLevel c;
        c.line = int(ebx & 0xfff) + 1;
        const int64_t partitions = int64_t((ebx >> 12) & 0x3ff) + 1;
        c.ways = int((ebx >> 22) & 0x3ff) + 1;
        c.size = int64_t(c.ways) * partitions * c.line * (int64_t(ecx) + 1);
        c.shared_by = int((eax >> 14) & 0xfff) + 1;
        if (eax & (1u << 9)) c.ways = 0;  // fully associative
        put_level(info, level, type, c);
        any = true;
    }
    return any;
}
#endif

int64_t parse_sysfs_size(const std::string& text) {  // "32K", "1024K", "32M"
    std::istringstream in(text);
    int64_t value = 0;
    char unit = 0;
    if (!(in >> value) || value <= 0) return 0;
    in >> unit;
    return unit == 'K' ? value << 10 : unit == 'M' ? value << 20 : unit == 'G' ? value << 30 : value;
}

// "0-1,4,6-7" -> 5
int count_cpu_list(const std::string& text) {
    int count = 0;
    std::istringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        int lo = 0, hi = 0;
        const size_t dash = part.find('-');
        try {
            lo = std::stoi(part.substr(0, dash));
            hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
        } catch (...) {
            continue;  // an unreadable part counts nothing
        }
        if (hi >= lo && hi - lo < 65536) count += hi - lo + 1;
    }
    return count;
}

std::string read_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return trim(line);
}

}  // namespace

CacheInfo cache_info_from_cpuid() {
    CacheInfo info;
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return info;
    char vendor[13] = {};
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    const bool amd = std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0;
    // AMD's leaf needs the topology extensions (0x80000001 ecx bit 22); Intel's leaf 4 needs max leaf >= 4.
    if (amd) {
        if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 22)))
            read_cache_leaf(0x8000001D, info);
    } else if (__get_cpuid_max(0, nullptr) >= 4) {
        read_cache_leaf(4, info);
    }
    if (info.l1d.size > 0 || info.l2.size > 0) info.source = "cpuid";
#endif
    return info;
}

CacheInfo cache_info_from_sysfs(const std::string& dir) {
    CacheInfo info;
    for (int i = 0; i < 16; ++i) {
        const std::string index = fmt::format("{}/index{}/", dir, i);
        const std::string level_text = read_line(index + "level");
        if (level_text.empty()) break;
        const std::string type_text = read_line(index + "type");
        const int type = type_text == "Data" ? 1 : type_text == "Instruction" ? 2 : 3;
        CacheLevel c;
        c.size = parse_sysfs_size(read_line(index + "size"));
        c.line = std::atoi(read_line(index + "coherency_line_size").c_str());
        c.ways = std::atoi(read_line(index + "ways_of_associativity").c_str());
        c.shared_by = count_cpu_list(read_line(index + "shared_cpu_list"));
        put_level(info, std::atoi(level_text.c_str()), type, c);
    }
    if (info.l1d.size > 0 || info.l2.size > 0) info.source = "sysfs";
    return info;
}

CacheInfo default_cache_info() {
    CacheInfo info;
    info.l1d = {32 << 10, 64, 8, 2};
    info.l2 = {1 << 20, 64, 8, 2};
    info.l3 = {8 << 20, 64, 16, 8};
    info.source = "defaults";
    return info;
}

std::string cpu_model_string() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned regs[12] = {};
    if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
        char brand[49] = {};
        std::memcpy(brand, regs, 48);
        if (std::string model = trim(brand); !model.empty()) return model;
    }
#endif
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
            if (std::string model = trim(line.substr(line.find(':') + 1)); !model.empty()) return model;
    return "unknown CPU";
}

const CacheInfo& cache_info() {
    static const CacheInfo info = [] {
        CacheInfo found = cache_info_from_cpuid();
        if (found.source.empty()) found = cache_info_from_sysfs();
        if (found.source.empty()) found = default_cache_info();
        found.model = cpu_model_string();
        return found;
    }();
    return info;
}

std::string describe_cache_level(const CacheLevel& level) {
    if (level.size <= 0) return "absent";
    const std::string size = level.size % (1 << 20) == 0 ? fmt::format("{} MiB", level.size >> 20)
                                                          : fmt::format("{} KiB", level.size >> 10);
    return level.ways > 0 ? fmt::format("{} {}-way", size, level.ways) : size;
}

}  // namespace mg::kernels::cpu
