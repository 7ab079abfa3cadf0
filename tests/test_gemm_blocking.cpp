// The GEMM's run-time blocking (kernels/cpu/gemm_blocking.h) and the caches it is derived
// from (kernels/cpu/cache_info.h): detection against Linux's own view, the derivation on
// synthetic machines, MINIGEN_GEMM_BLOCKING's validation and the tuned file's checks.
// GEMM and conv results under unusual blockings: test_gemm.cpp, test_conv_kernels.cpp.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "helpers.h"
#include "kernels/cpu/cache_info.h"
#include "kernels/cpu/gemm_blocking.h"

namespace {

namespace cpu = mg::kernels::cpu;

cpu::CacheInfo machine(int64_t l1, int l1_ways, int64_t l2, int64_t l3, int l3_sharing) {
    cpu::CacheInfo c;
    c.l1d = {l1, 64, l1_ways, 2};
    c.l2 = {l2, 64, 8, 2};
    if (l3 > 0) c.l3 = {l3, 64, 16, l3_sharing};
    c.source = "test";
    return c;
}

// The four micro-kernels gemm_simd.h instantiates (AVX-512 and AVX2, float and double).
const cpu::GemmKernelShape kShapes[] = {
    cpu::gemm_kernel_shape("avx512", 64, 32, 4), cpu::gemm_kernel_shape("avx512", 64, 32, 8),
    cpu::gemm_kernel_shape("avx2", 32, 16, 4), cpu::gemm_kernel_shape("avx2", 32, 16, 8)};

void check_valid(const cpu::GemmBlocking& b, const cpu::GemmKernelShape& s) {
    CAPTURE(s.isa);
    CAPTURE(s.elem_bytes);
    CHECK(b.mc >= s.mr);
    CHECK(b.mc <= cpu::kMaxGemmMC);
    CHECK(b.mc % s.mr == 0);
    CHECK(b.kc >= 8);
    CHECK(b.kc <= cpu::kMaxGemmKC);
    CHECK(b.kc % 8 == 0);
    CHECK(b.nc >= 4 * s.nr);
    CHECK(b.nc <= cpu::kMaxGemmNC);
    CHECK(b.nc % s.nr == 0);
}

struct EnvVar {  // sets (or unsets) a variable for a scope, restoring the old value after
    EnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
    ~EnvVar() {
        if (had_) setenv(name_, old_.c_str(), 1);
        else unsetenv(name_);
    }
    const char* name_;
    std::string old_;
    bool had_ = false;
};

}  // namespace

TEST_CASE("cache info: plausible sizes, and the same as Linux's /sys where it says") {
    const cpu::CacheInfo& c = cpu::cache_info();
    CAPTURE(c.source);
    CHECK(!c.model.empty());
    CHECK(c.l1d.size >= 4096);
    CHECK(c.l1d.size <= (4 << 20));
    CHECK(c.l2.size >= c.l1d.size);
    CHECK((c.l1d.line == 32 || c.l1d.line == 64 || c.l1d.line == 128));
    if (c.l3.size > 0) CHECK(c.l3.size >= c.l2.size);
    const cpu::CacheInfo sys = cpu::cache_info_from_sysfs();
    if (sys.source.empty() || c.source != "cpuid") return;  // nothing to compare with
    const std::pair<const cpu::CacheLevel*, const cpu::CacheLevel*> levels[] = {
        {&c.l1d, &sys.l1d}, {&c.l2, &sys.l2}, {&c.l3, &sys.l3}};
    for (auto [mine, linux] : levels) {
        if (linux->size == 0) continue;
        CHECK(mine->size == linux->size);
        CHECK(mine->line == linux->line);
        CHECK(mine->ways == linux->ways);
    }
}

TEST_CASE("cache info: /sys read from a folder written here") {
    mg::test::TempDir dir("cache-info");
    auto level = [&](int i, const char* lvl, const char* type, const char* size, const char* ways, const char* cpus) {
        const std::string d = dir.str() + "/index" + std::to_string(i);
        std::filesystem::create_directories(d);
        for (auto [file, text] : {std::pair{"level", lvl}, {"type", type}, {"size", size},
                                  {"coherency_line_size", "64"}, {"ways_of_associativity", ways},
                                  {"shared_cpu_list", cpus}})
            std::ofstream(d + "/" + file) << text << "\n";
    };
    level(0, "1", "Data", "48K", "12", "0,8");
    level(1, "1", "Instruction", "32K", "8", "0,8");
    level(2, "2", "Unified", "2048K", "16", "0,8");
    level(3, "3", "Unified", "107520K", "15", "0-55,112-167");
    const cpu::CacheInfo c = cpu::cache_info_from_sysfs(dir.str());
    CHECK(c.source == "sysfs");
    CHECK(c.l1d.size == 48 << 10);
    CHECK(c.l1d.ways == 12);
    CHECK(c.l2.size == 2 << 20);
    CHECK(c.l3.size == 107520ll << 10);
    CHECK(c.l3.shared_by == 112);
    CHECK(cpu::cache_info_from_sysfs(dir.str() + "/missing").source.empty());
}

TEST_CASE("gemm blocking: derived sizes on synthetic machines are in bounds and multiples of MR / NR") {
    const cpu::CacheInfo machines[] = {
        machine(32 << 10, 8, 1 << 20, 32 << 20, 16),     // Zen 4
        machine(48 << 10, 12, 1 << 20, 32 << 20, 16),    // Zen 5
        machine(48 << 10, 12, 2 << 20, 105 << 20, 112),  // Xeon with AVX-512 + AMX
        machine(4 << 10, 4, 64 << 10, 0, 0),             // a tiny CPU without an L3
        machine(1 << 20, 16, 64 << 20, 1ll << 30, 1),    // caches larger than any bound
    };
    for (const cpu::CacheInfo& m : machines)
        for (const cpu::GemmKernelShape& s : kShapes) {
            const cpu::GemmBlockingChoice c = cpu::derive_gemm_blocking(m, s);
            CAPTURE(c.reason);
            CHECK(c.reason.rfind("derived: ", 0) == 0);
            check_valid(c.sizes, s);
        }
    // Zen 4, AVX-512 float: the constants measured before the caches were read (on a Zen 5),
    // and the largest kc whose B micro-panel fits the L1d.
    CHECK(cpu::derive_gemm_blocking(machines[0], kShapes[0]).sizes == cpu::GemmBlocking{336, 256, 2048});
    // The same with the L3 shared by 2 CPUs (a 2-vCPU virtual machine): 16 MiB each, nc at its cap.
    CHECK(cpu::derive_gemm_blocking(machine(32 << 10, 8, 1 << 20, 32 << 20, 2), kShapes[0]).sizes ==
          cpu::GemmBlocking{336, 256, 4096});
    CHECK(cpu::derive_gemm_blocking(machines[1], kShapes[0]).sizes.kc == 384);
    CHECK(cpu::derive_gemm_blocking(machines[3], kShapes[0]).sizes.kc == 32);
    // Missing levels fall back to the stated defaults rather than to zero-sized blocks.
    check_valid(cpu::derive_gemm_blocking(cpu::CacheInfo{}, kShapes[0]).sizes, kShapes[0]);
    // Micro-kernel shapes as gemm_simd.h builds them.
    CHECK(kShapes[0].mr == 14);
    CHECK(kShapes[0].nr == 32);
    CHECK(kShapes[3].mr == 6);
    CHECK(kShapes[3].nr == 8);
}

TEST_CASE("gemm blocking: MINIGEN_GEMM_BLOCKING is three integers in bounds, or an error naming it") {
    CHECK(cpu::parse_gemm_blocking("336,256,4096", "MINIGEN_GEMM_BLOCKING") == cpu::GemmBlocking{336, 256, 4096});
    CHECK(cpu::parse_gemm_blocking("1,1,1", "X") == cpu::GemmBlocking{1, 1, 1});
    for (const char* bad : {"", "abc", "336,256", "336,256,4096,1", "336,,4096", "-1,256,4096", "0,256,4096",
                            "336,2048,4096", "336,256,99999999", "336, 256,4096", "336,256,4096x",
                            "99999999999999999999,1,1"}) {
        CAPTURE(bad);
        const std::string what = mg::test::error_of([&] { cpu::parse_gemm_blocking(bad, "MINIGEN_GEMM_BLOCKING"); });
        CHECK(what.find("MINIGEN_GEMM_BLOCKING: '") == 0);
        CHECK(what.find(std::string("'") + bad + "'") != std::string::npos);
    }
    {
        EnvVar env("MINIGEN_GEMM_BLOCKING", "336,256");
        CHECK_THROWS_AS(cpu::check_gemm_blocking_env(), mg::Error);
    }
    {
        EnvVar env("MINIGEN_GEMM_BLOCKING", nullptr);
        CHECK_NOTHROW(cpu::check_gemm_blocking_env());
    }
    // Fitting rounds mc up to MR and nc up to NR, and keeps kc.
    CHECK(cpu::fit_gemm_blocking({1, 17, 1}, kShapes[0]) == cpu::GemmBlocking{14, 17, 32});
    CHECK(cpu::fit_gemm_blocking({15, 17, 33}, kShapes[0]) == cpu::GemmBlocking{28, 17, 64});
}

TEST_CASE("gemm blocking: a tuned file is used when valid, else ignored with the reason") {
    mg::test::TempDir dir("tuned");
    const std::string model = "Test CPU 9000";
    const cpu::GemmKernelShape s = kShapes[0];
    auto write = [&](const std::string& text) {
        const std::string path = dir.str() + "/t.json";
        std::ofstream(path) << text;
        return path;
    };
    std::string problem;
    // Round trip of what `minigen bench --tune` writes.
    std::string path = write(cpu::gemm_tuned_file_text(model, s, {336, 192, 2048}));
    auto got = cpu::read_gemm_tuned_file(path, model, s, &problem);
    REQUIRE(got.has_value());
    CHECK(*got == cpu::GemmBlocking{336, 192, 2048});
    CHECK(problem.empty());
    // Another instruction set or dtype: not tuned, nothing wrong.
    CHECK(!cpu::read_gemm_tuned_file(path, model, kShapes[1], &problem).has_value());
    CHECK(problem.empty());
    // No file: nothing to say.
    CHECK(!cpu::read_gemm_tuned_file(dir.str() + "/none.json", model, s, &problem).has_value());
    CHECK(problem.empty());

    const std::pair<std::string, std::string> bad[] = {
        {"{\"cpu_model\": \"Test CPU 9000\", \"blocking\": {\"avx512 float32\": {\"mc\": 3", "the file"},
        {cpu::gemm_tuned_file_text("Other CPU", s, {336, 256, 4096}), "tuned for 'Other CPU'"},
        {cpu::gemm_tuned_file_text(model, s, {336, 5000, 4096}), "out of bounds"},
        {cpu::gemm_tuned_file_text(model, s, {0, 256, 4096}), "out of bounds"},
        {"{\"cpu_model\": \"Test CPU 9000\", \"blocking\": {\"avx512 float32\": {\"mc\": \"336\"}}}", "no integer"},
        {"[1, 2, 3]", "not a tuned blocking file"},
        {std::string(100000, '['), "the file"},
        {"", "the file"},
    };
    for (const auto& [text, reason] : bad) {
        CAPTURE(text.substr(0, 80));
        path = write(text);
        CHECK(!cpu::read_gemm_tuned_file(path, model, s, &problem).has_value());
        CHECK_MESSAGE(problem.find(reason) != std::string::npos, problem);
    }
    // A directory in the file's place is a problem, not a crash.
    std::filesystem::create_directories(dir.str() + "/d.json");
    CHECK(!cpu::read_gemm_tuned_file(dir.str() + "/d.json", model, s, &problem).has_value());
    CHECK(!problem.empty());
}

TEST_CASE("gemm blocking: the tuned file's name is the sanitised CPU model under the cache folder") {
    EnvVar env("MINIGEN_CACHE_DIR", "/tmp/minigen-cache-test");
    CHECK(cpu::gemm_tuned_file_path("AMD EPYC 9R14 96-Core Processor") ==
          "/tmp/minigen-cache-test/tune/amd_epyc_9r14_96_core_processor.json");
    CHECK(cpu::gemm_tuned_file_path("../../etc/passwd") == "/tmp/minigen-cache-test/tune/etc_passwd.json");
    CHECK(cpu::gemm_tuned_file_path("") == "/tmp/minigen-cache-test/tune/unknown_cpu.json");
}

TEST_CASE("gemm blocking: an override applies to every shape, fitted, until cleared") {
    const cpu::GemmBlocking before = cpu::gemm_blocking(kShapes[0]);
    {
        const cpu::ScopedGemmBlocking use({1, 17, 1});
        CHECK(cpu::gemm_blocking(kShapes[0]) == cpu::GemmBlocking{14, 17, 32});
        CHECK(cpu::gemm_blocking(kShapes[3]) == cpu::GemmBlocking{6, 17, 8});
    }
    CHECK(cpu::gemm_blocking(kShapes[0]) == before);
}
