// minigen info: the build, the devices, the CPU features and every kernel variant.
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/runtime.h"
#include "kernels/cpu/cache_info.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm_blocking.h"
#include "kernels/device.h"
#include "kernels/lowp.h"
#include "kernels/registry.h"
#include "models/export/onnx_export.h"
#include "models/registry.h"
#include "tools/cli.h"

namespace mg::tools {

namespace {

nlohmann::json info_json() {
    BuildInfo b = build_info();
    nlohmann::json j;
    j["version"] = b.version;
    j["build"] = {{"compiler", b.compiler}, {"build_type", b.build_type}, {"cxx_flags", b.cxx_flags}, {"cuda", b.cuda},
                  {"onnx_export", models::onnx_export_available()}};
    j["cpu"] = {{"features", kernels::cpu::cpu_feature_string()}, {"threads", num_threads()}};
    // The reduced-precision sets (AMX only with the OS's permission) and each int8 / bf16 op's active variant.
    j["cpu"]["lowp_features"] = kernels::cpu::lowp_feature_string();
    nlohmann::json lowp = nlohmann::json::object();
    for (const auto& v : kernels::list_variants())
        for (const char* op : kernels::kLowpOps)
            if (v.op == op && v.device == Device::CPU && v.active) lowp[v.op] = v.name;
    j["lowp_kernels"] = lowp;
    const kernels::cpu::CacheInfo& caches = kernels::cpu::cache_info();
    j["cpu"]["model"] = caches.model;
    auto level = [](const kernels::cpu::CacheLevel& c) {
        return nlohmann::json{{"bytes", c.size}, {"line", c.line}, {"ways", c.ways}, {"shared_by", c.shared_by}};
    };
    j["cpu"]["caches"] = {{"l1d", level(caches.l1d)}, {"l2", level(caches.l2)}, {"l3", level(caches.l3)},
                          {"source", caches.source}};
    // The GEMM's cache blocking per instruction set and dtype, and why (kernels/cpu/gemm_blocking.h).
    nlohmann::json blocking = nlohmann::json::array();
    const kernels::cpu::GemmKernelShapes shapes = kernels::cpu::cpu_gemm_kernel_shapes();
    for (int i = 0; i < shapes.count; ++i) {
        const kernels::cpu::GemmKernelShape& s = shapes.shapes[i];
        const kernels::cpu::GemmBlockingChoice c = kernels::cpu::gemm_blocking_choice(s);
        blocking.push_back({{"isa", s.isa}, {"dtype", s.elem_bytes == 4 ? "float32" : "float64"}, {"mr", s.mr},
                            {"nr", s.nr}, {"mc", c.sizes.mc}, {"kc", c.sizes.kc}, {"nc", c.sizes.nc},
                            {"reason", c.reason}});
    }
    j["gemm_blocking"] = blocking;
    nlohmann::json cuda = {{"built", kernels::cuda::built_with_cuda()}, {"available", kernels::cuda::available()}};
    if (kernels::cuda::available()) {
        nlohmann::json devs = nlohmann::json::array();
        for (int i = 0; i < kernels::cuda::device_count(); ++i) devs.push_back(kernels::cuda::device_name(i));
        cuda["devices"] = devs;
    } else {
        cuda["reason"] = kernels::cuda::unavailable_reason();
    }
    j["cuda"] = cuda;
    nlohmann::json kernels = nlohmann::json::array();
    for (const auto& v : kernels::list_variants())
        kernels.push_back({{"op", v.op}, {"variant", v.name}, {"device", std::string(device_name(v.device))},
                           {"dtype", std::string(dtype_name(v.dtype))}, {"priority", v.priority},
                           {"active", v.active}, {"doc", v.doc}});
    j["kernels"] = kernels;
    nlohmann::json models = nlohmann::json::array();
    for (const auto& m : models::all_models()) models.push_back({{"name", m.name}, {"description", m.description}});
    j["models"] = models;
    auto stats = [](Device d) {
        AllocatorStats s = allocator_for(d).stats();
        return nlohmann::json{{"allocations", s.allocations}, {"cache_hits", s.cache_hits},
                              {"bytes_in_use", s.bytes_in_use}, {"bytes_cached", s.bytes_cached},
                              {"peak_bytes_in_use", s.peak_bytes_in_use}};
    };
    j["allocator"] = {{"cpu", stats(Device::CPU)}};
    if (kernels::cuda::available()) {
        j["allocator"]["cuda"] = stats(Device::CUDA);
        size_t free = 0, total = 0;
        kernels::cuda::memory_info(free, total);
        j["cuda"]["memory"] = {{"free_bytes", free}, {"total_bytes", total}};
    }
    return j;
}

void print_models(const nlohmann::json& j) {
    for (const auto& m : j["models"])
        std::printf("  %-14s %s\n", m["name"].get<std::string>().c_str(), m["description"].get<std::string>().c_str());
}

void print_text(const nlohmann::json& j) {
    std::printf("minigen %s\n", j["version"].get<std::string>().c_str());
    const auto& b = j["build"];
    std::printf("build     %s, %s, CUDA %s, ONNX export %s\n", b["compiler"].get<std::string>().c_str(),
                b["build_type"].get<std::string>().c_str(), b["cuda"].get<bool>() ? "on" : "off",
                b["onnx_export"].get<bool>() ? "on" : "off");
    std::printf("cpu       %s, %d threads; %s\n", j["cpu"]["model"].get<std::string>().c_str(),
                j["cpu"]["threads"].get<int>(), j["cpu"]["features"].get<std::string>().c_str());
    std::string lowp;
    for (const auto& [op, variant] : j["lowp_kernels"].items())
        lowp += fmt::format("{}{}={}", lowp.empty() ? "" : " ", op, variant.get<std::string>());
    std::printf("lowp      %s; active: %s\n", j["cpu"]["lowp_features"].get<std::string>().c_str(), lowp.c_str());
    const auto& caches = j["cpu"]["caches"];
    auto level = [](const nlohmann::json& c) {
        return kernels::cpu::describe_cache_level(
            {c["bytes"].get<int64_t>(), c["line"].get<int>(), c["ways"].get<int>(), c["shared_by"].get<int>()});
    };
    std::printf("caches    L1d %s, L2 %s, L3 %s (from %s)\n", level(caches["l1d"]).c_str(), level(caches["l2"]).c_str(),
                level(caches["l3"]).c_str(), caches["source"].get<std::string>().c_str());
    for (const auto& g : j["gemm_blocking"])
        std::printf("gemm      %s %s %dx%d: mc %lld, kc %lld, nc %lld (%s)\n", g["isa"].get<std::string>().c_str(),
                    g["dtype"].get<std::string>().c_str(), g["mr"].get<int>(), g["nr"].get<int>(),
                    (long long)g["mc"].get<int64_t>(), (long long)g["kc"].get<int64_t>(),
                    (long long)g["nc"].get<int64_t>(), g["reason"].get<std::string>().c_str());
    if (j["cuda"]["available"].get<bool>())
        for (const auto& d : j["cuda"]["devices"])
            std::printf("cuda      %s, %.1f of %.1f GiB free\n", d.get<std::string>().c_str(),
                        j["cuda"]["memory"]["free_bytes"].get<double>() / (1 << 30),
                        j["cuda"]["memory"]["total_bytes"].get<double>() / (1 << 30));
    else
        std::printf("cuda      not available: %s\n", j["cuda"]["reason"].get<std::string>().c_str());
    // The caching allocators: what this process has asked of them so far (a training run
    // prints its own at the end). Size classes: 64-byte steps to 4 KiB, then 4 per power of 2.
    for (const auto& [device, a] : j["allocator"].items())
        std::printf("allocator %-4s %lld allocations, %lld from the cache; %.1f MiB in use (peak %.1f), %.1f MiB cached\n",
                    device.c_str(), (long long)a["allocations"].get<int64_t>(), (long long)a["cache_hits"].get<int64_t>(),
                    a["bytes_in_use"].get<double>() / (1 << 20), a["peak_bytes_in_use"].get<double>() / (1 << 20),
                    a["bytes_cached"].get<double>() / (1 << 20));
    // Variants grouped by op; '*' marks the active one per device and dtype.
    std::printf("\nkernels (op: variant[device dtype], * = active)\n");
    std::map<std::string, std::vector<std::string>> by_op;
    for (const auto& k : j["kernels"])
        by_op[k["op"].get<std::string>()].push_back(
            fmt::format("{}{}[{} {}]", k["active"].get<bool>() ? "*" : "", k["variant"].get<std::string>(),
                        k["device"].get<std::string>(), k["dtype"].get<std::string>()));
    for (const auto& [op, vs] : by_op) {
        std::string line;
        for (const auto& v : vs) line += (line.empty() ? "" : " ") + v;
        std::printf("  %-24s %s\n", op.c_str(), line.c_str());
    }
}

}  // namespace

void add_info_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("info", "Show the build, the devices, the CPU features and the kernel variants");
    static bool json = false, models_only = false;
    static int threads = 0;
    cmd->add_flag("--json", json, "Print one JSON object on stdout");
    cmd->add_flag("--models", models_only, "List the models that minigen train knows");
    add_threads_option(*cmd, threads);
    cmd->callback([] {
        apply_threads(threads);
        nlohmann::json j = info_json();
        if (json) std::printf("%s\n", (models_only ? j["models"] : j).dump(1).c_str());
        else if (models_only) print_models(j);
        else {
            print_text(j);
            std::printf("\nmodels\n");
            print_models(j);
        }
    });
}

}  // namespace mg::tools
