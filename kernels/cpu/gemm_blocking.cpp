#include "kernels/cpu/gemm_blocking.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <vector>

#include <fmt/format.h>

// The includes from above kernels/: reading a file someone else may have written is
// core/io's job (bounded size, bounded JSON depth, messages naming the file), and the cache
// folder is the one the image cache uses.
#include "core/data/image_cache.h"
#include "core/io/input.h"
#include "kernels/base.h"
#include "kernels/cpu/isa_kernels.h"

namespace mg::kernels::cpu {

namespace {

constexpr const char* kEnv = "MINIGEN_GEMM_BLOCKING";

int64_t round_down(int64_t a, int64_t b) { return a / b * b; }
int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }
std::string size_text(int64_t bytes) { return describe_cache_level({bytes, 0, 0, 0}); }
constexpr int64_t kNcCap = 4096;  // the derived nc's cap (derive_gemm_blocking)

bool in_bounds(const GemmBlocking& b) {
    return b.mc >= 1 && b.mc <= kMaxGemmMC && b.kc >= 1 && b.kc <= kMaxGemmKC && b.nc >= 1 && b.nc <= kMaxGemmNC;
}
std::string bounds_text() { return fmt::format("mc 1..{}, kc 1..{}, nc 1..{}", kMaxGemmMC, kMaxGemmKC, kMaxGemmNC); }

bool same_shape(const GemmKernelShape& a, const GemmKernelShape& b) {
    return a.mr == b.mr && a.nr == b.nr && a.elem_bytes == b.elem_bytes && std::string_view(a.isa) == b.isa;
}

// MINIGEN_GEMM_BLOCKING parsed, nullopt when unset or empty; throws on a bad value.
std::optional<GemmBlocking> blocking_from_env() {
    const char* text = std::getenv(kEnv);
    if (text == nullptr || *text == 0) return std::nullopt;
    return parse_gemm_blocking(text, kEnv);
}

// Once per distinct warning: a bad tuned file is named once, not once per dtype.
void warn_once(const std::string& message) {
    static std::mutex mutex;
    static std::set<std::string> said;
    std::lock_guard<std::mutex> lock(mutex);
    if (!said.insert(message).second) return;
    std::fprintf(stderr, "minigen: warning: %s\n", message.c_str());
}

GemmBlockingChoice choose(const GemmKernelShape& shape) {
    if (std::optional<GemmBlocking> env = blocking_from_env())
        return {fit_gemm_blocking(*env, shape), fmt::format("env {}={}", kEnv, std::getenv(kEnv))};
    const CacheInfo& caches = cache_info();
    std::string path, problem;
    try {
        path = gemm_tuned_file_path(caches.model);
    } catch (const Error&) {
        // No cache folder at all (no HOME): nothing tuned to read.
    }
    if (!path.empty()) {
        if (std::optional<GemmBlocking> tuned = read_gemm_tuned_file(path, caches.model, shape, &problem))
            return {fit_gemm_blocking(*tuned, shape), "tuned file " + path};
        if (!problem.empty()) warn_once(fmt::format("ignoring the tuned GEMM blocking {}: {}", path, problem));
    }
    return derive_gemm_blocking(caches, shape);
}

struct ChoiceTable {
    std::vector<std::pair<GemmKernelShape, GemmBlockingChoice>> rows;
};

// Every shape this CPU runs, chosen together at first use (afterwards read without locks).
const ChoiceTable& choices() {
    static const ChoiceTable table = [] {
        ChoiceTable t;
        const GemmKernelShapes shapes = cpu_gemm_kernel_shapes();
        for (int i = 0; i < shapes.count; ++i) t.rows.emplace_back(shapes.shapes[i], choose(shapes.shapes[i]));
        return t;
    }();
    return table;
}

std::atomic<bool> g_has_override{false};
GemmBlocking g_override;

}  // namespace

GemmKernelShapes cpu_gemm_kernel_shapes() {
    GemmKernelShapes out;
    for (const IsaKernels* isa : cpu_isas()) {
        // AVX-512: 64-byte vectors, 32 registers; AVX2: 32-byte vectors, 16 registers.
        const int vector_bytes = isa->lanes_f32 * 4, registers = isa->lanes_f32 == 16 ? 32 : 16;
        for (int elem : {4, 8})
            if (out.count < 4) out.shapes[out.count++] = gemm_kernel_shape(isa->name, vector_bytes, registers, elem);
    }
    return out;
}

GemmBlocking gemm_blocking(const GemmKernelShape& shape) {
    if (g_has_override.load(std::memory_order_acquire)) return fit_gemm_blocking(g_override, shape);
    for (const auto& [s, choice] : choices().rows)
        if (same_shape(s, shape)) return choice.sizes;
    return choose(shape).sizes;  // a shape no instruction set here has (tests)
}

GemmBlockingChoice gemm_blocking_choice(const GemmKernelShape& shape) {
    for (const auto& [s, choice] : choices().rows)
        if (same_shape(s, shape)) return choice;
    return choose(shape);
}

void check_gemm_blocking_env() { blocking_from_env(); }

GemmBlockingChoice derive_gemm_blocking(const CacheInfo& caches, const GemmKernelShape& shape) {
    const CacheInfo fallback = default_cache_info();
    const CacheLevel l1 = caches.l1d.size > 0 ? caches.l1d : fallback.l1d;
    const CacheLevel l2 = caches.l2.size > 0 ? caches.l2 : fallback.l2;
    // The B panel's home: the L3 (a share per core), else the L2 on a CPU without one.
    const CacheLevel last = caches.l3.size > 0 ? caches.l3 : l2;
    const int64_t mr = shape.mr, nr = shape.nr, elem = shape.elem_bytes;

    // kc: the kc x NR B micro-panel fills the L1d while MR x kc A micro-panels stream past it
    // from the L2. BLIS's model (Low et al. 2016) would leave the A micro-panel its own L1
    // ways too (kc 144 for float on a Zen 4's 8-way 32 KiB); measured there, that is 10%
    // slower than kc 256 (float; double 10% slower at 128 than 256, AVX2 float 5% at 256
    // than 512): these cores load from the L2 far faster than the micro-kernel's 2 vectors
    // per MR FMAs need, so the longer kc, which spreads the C tile's load and store over
    // more FMAs, wins.
    const int64_t kc = clamp64(round_down(l1.size / (nr * elem), 8), 8, kMaxGemmKC);
    // mc: the packed A block (mc x kc) takes a third of the L2, so that the B micro-panels and
    // C tiles passing through do not evict it (half measured the same on a Zen 4).
    const int64_t mc = clamp64(round_down(l2.size / 3 / (kc * elem), mr), mr, round_down(kMaxGemmMC, mr));
    // nc: the packed B panel (kc x nc) fits one CPU's share of the last level. Past 4096
    // columns a longer panel saves nothing measurable (one more trip of the outermost loop
    // packs nothing twice), and it costs memory.
    const int64_t sharing = std::max(1, last.shared_by);
    const int64_t share = last.size / sharing;
    const int64_t nc = clamp64(round_down(std::min<int64_t>(share / (kc * elem), kNcCap), nr), 4 * nr,
                               round_down(kMaxGemmNC, nr));
    GemmBlockingChoice c;
    c.sizes = {mc, kc, nc};
    c.reason = fmt::format("derived: L1d {} / ({} x {} B) -> kc {}; L2 {} / 3 -> mc {}; {} {} / {} CPUs -> nc {}{}",
                           size_text(l1.size), nr, elem, kc, size_text(l2.size), mc,
                           caches.l3.size > 0 ? "L3" : "L2", size_text(last.size), sharing, nc,
                           share / (kc * elem) > kNcCap ? " (the cap)" : "");
    return c;
}

GemmBlocking parse_gemm_blocking(std::string_view text, std::string_view what) {
    int64_t values[3] = {};
    std::string_view rest = text;
    for (int i = 0; i < 3; ++i) {
        const size_t comma = i < 2 ? rest.find(',') : std::string_view::npos;
        const std::string_view part = rest.substr(0, comma);
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), values[i]);
        const bool whole = ec == std::errc() && end == part.data() + part.size() && !part.empty();
        MG_CHECK(whole && (i == 2 || comma != rest.npos),
                 "{}: '{}' is not three integers \"mc,kc,nc\" (e.g. \"336,256,4096\")", what, io::quote_short(text));
        rest = comma == rest.npos ? std::string_view() : rest.substr(comma + 1);
    }
    const GemmBlocking b{values[0], values[1], values[2]};
    MG_CHECK(in_bounds(b), "{}: '{}' is out of bounds ({})", what, io::quote_short(text), bounds_text());
    return b;
}

GemmBlocking fit_gemm_blocking(GemmBlocking b, const GemmKernelShape& shape) {
    b.mc = clamp64(round_up(clamp64(b.mc, 1, kMaxGemmMC), shape.mr), shape.mr, round_down(kMaxGemmMC, shape.mr));
    b.kc = clamp64(b.kc, 1, kMaxGemmKC);
    b.nc = clamp64(round_up(clamp64(b.nc, 1, kMaxGemmNC), shape.nr), shape.nr, round_down(kMaxGemmNC, shape.nr));
    return b;
}

std::string gemm_blocking_key(const GemmKernelShape& shape) {
    return fmt::format("{} {}", shape.isa, shape.elem_bytes == 4 ? "float32" : "float64");
}

std::string gemm_tuned_file_path(const std::string& cpu_model) {
    std::string name;
    for (char ch : cpu_model) {
        const bool keep = std::isalnum(static_cast<unsigned char>(ch));
        if (keep) name += char(std::tolower(static_cast<unsigned char>(ch)));
        else if (!name.empty() && name.back() != '_') name += '_';
        if (name.size() >= 96) break;
    }
    while (!name.empty() && name.back() == '_') name.pop_back();
    if (name.empty()) name = "unknown_cpu";
    return data::default_cache_base() + "/tune/" + name + ".json";
}

std::optional<GemmBlocking> read_gemm_tuned_file(const std::string& path, const std::string& cpu_model,
                                                 const GemmKernelShape& shape, std::string* problem) {
    std::string unused;
    if (problem == nullptr) problem = &unused;  // the caller does not want the reason
    problem->clear();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;  // not tuned: nothing to say
    try {
        const nlohmann::json j = io::parse_json(io::read_text_file(path, "the file", 1 << 16), "the file");
        MG_CHECK(j.is_object() && j.contains("cpu_model") && j["cpu_model"].is_string() && j.contains("blocking") &&
                     j["blocking"].is_object(),
                 "not a tuned blocking file (needs \"cpu_model\" and \"blocking\")");
        const std::string model = j["cpu_model"].get<std::string>();
        MG_CHECK(model == cpu_model, "tuned for '{}', this CPU is '{}'", io::quote_short(model), cpu_model);
        const std::string key = gemm_blocking_key(shape);
        if (!j["blocking"].contains(key)) return std::nullopt;  // tuned for another instruction set or dtype
        const nlohmann::json& e = j["blocking"][key];
        GemmBlocking b;
        for (auto [name, field] : {std::pair{"mc", &b.mc}, {"kc", &b.kc}, {"nc", &b.nc}}) {
            MG_CHECK(e.is_object() && e.contains(name) && e[name].is_number_integer(),
                     "\"{}\" has no integer \"{}\"", key, name);
            *field = e[name].get<int64_t>();
        }
        MG_CHECK(in_bounds(b), "\"{}\" {},{},{} is out of bounds ({})", key, b.mc, b.kc, b.nc, bounds_text());
        return b;
    } catch (const Error& e) {
        *problem = e.what();
    } catch (const std::exception& e) {
        *problem = e.what();
    }
    return std::nullopt;
}

std::string gemm_tuned_file_text(const std::string& cpu_model, const GemmKernelShape& shape, GemmBlocking b) {
    nlohmann::json j = {{"cpu_model", cpu_model},
                        {"blocking", {{gemm_blocking_key(shape), {{"mc", b.mc}, {"kc", b.kc}, {"nc", b.nc}}}}}};
    return j.dump(1) + "\n";
}

void set_gemm_blocking_override(std::optional<GemmBlocking> b) {
    if (b) g_override = *b;
    g_has_override.store(b.has_value(), std::memory_order_release);
}

}  // namespace mg::kernels::cpu
