// The kernel registry: named variants per op, one active per (device, dtype).
//
// Every op has a "reference" variant (plain loops, obviously correct) and may have
// optimized ones ("avx2", "im2col", "cublas", ...). The variant with the highest
// priority is the default; a user can pick another by API (kernels::select) or by
// the environment: MINIGEN_KERNELS=matmul=reference,conv2d=im2col.
//
// Lookup on the hot path is one array load: each op's table keeps the active
// function pointer per (device, dtype); selection only rewrites that array.
#pragma once

#include <array>
#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/base.h"
#include "kernels/profile.h"

namespace mg::kernels {

struct VariantInfo {
    std::string op;
    std::string name;
    Device device;
    DType dtype;
    int priority;      // the highest is the default
    std::string doc;   // one line: what this variant changes and why
    bool active;
};

void init();  // registers every built-in kernel once; cheap after the first call
extern std::atomic<bool> g_initialized;

class OpTableBase {
public:
    explicit OpTableBase(std::string_view name);
    virtual ~OpTableBase() = default;
    const std::string& name() const { return name_; }

    // Picks `variant` for every (device, dtype) that has it; throws if none has it.
    void select(std::string_view variant);
    // The same for one device only (a name both devices have, like "im2col", stays put on the other).
    void select(std::string_view variant, Device device);
    void select_default();
    std::vector<VariantInfo> variants() const;
    bool has(std::string_view variant, Device d, DType t) const;
    // Whether (d, t) has a kernel at all: ops built from a fused kernel fall back to a
    // composition of simpler ops where it has none.
    bool has_kernel(Device d, DType t) const {
        if (!g_initialized.load(std::memory_order_acquire)) [[unlikely]] init();
        return active_[slot(d, t)] != nullptr;
    }

protected:
    struct Entry {
        std::string name;
        Device device;
        DType dtype;
        int priority;
        std::string doc;
        void (*fn)();
    };
    static constexpr int kDevices = 2, kDTypes = 4;
    static int slot(Device d, DType t) { return int(d) * kDTypes + int(t); }
    void add_entry(Entry e);
    void select_where(std::string_view variant, const Device* device);  // device null: every device
    const Entry* find_entry(std::string_view variant, Device d, DType t) const;
    void recompute_active();

    std::string name_;
    std::vector<Entry> entries_;
    std::array<std::string, kDevices * kDTypes> chosen_{};  // "" = default
    std::array<void (*)(), kDevices * kDTypes> active_{};
};

// The cost model of the tables of function type Fn: KernelCost<Fn>::of(dtype, args...) gives
// one call's FLOPs and bytes. The header that declares a table specializes it beside the
// table (the definitions are in kernels/cost.cpp); a table without one reports time only.
template <class Fn>
struct KernelCost {
    template <class... Args>
    static Cost of(DType, const Args&...) {
        return {};
    }
};

// The trampoline the profiler's get() hands out for a CPU table of Fn: times the active
// variant of Table()'s (CPU, T) inside a KernelScope (kernels/profile.h). A trampoline
// called on a thread that is not recording (an OpenMP worker) only calls the variant.
template <class Fn, auto Table, DType T>
struct Profiled;
template <class... Args, auto Table, DType T>
struct Profiled<void(Args...), Table, T> {
    [[gnu::cold]] static void call(Args... args) {  // cold: kept away from the hot kernels' code
        auto& table = Table();
        auto* fn = table.active_variant(Device::CPU, T);
        profile::KernelScope scope(table, T, KernelCost<void(Args...)>::of(T, args...));
        fn(args...);
    }
};

// A table of variants that share the function type Fn.
template <class Fn>
class OpTable : public OpTableBase {
public:
    // profiled: the trampolines of the CPU dtypes, in DType order (MG_KERNEL_TABLE fills them).
    explicit OpTable(std::string_view name, std::array<Fn*, kDTypes> profiled = {})
        : OpTableBase(name), profiled_(profiled) {}

    void add(std::string_view variant, Device d, DType t, Fn* fn, int priority, std::string_view doc) {
        add_entry({std::string(variant), d, t, priority, std::string(doc), reinterpret_cast<void (*)()>(fn)});
    }
    // The active variant for (d, t).
    Fn* get(Device d, DType t) {
        if (!g_initialized.load(std::memory_order_acquire)) [[unlikely]] init();
        void (*f)() = active_[slot(d, t)];
        MG_CHECK(f != nullptr, "{}: no kernel registered for device {} and dtype {}", name_, d, t);
        if (profile::enabled()) [[unlikely]] return profiled(d, t);  // the one test profiling costs when off
        return reinterpret_cast<Fn*>(f);
    }
    // The active variant itself, never a trampoline (for the trampolines).
    Fn* active_variant(Device d, DType t) const { return reinterpret_cast<Fn*>(active_[slot(d, t)]); }
    // A named variant, for benchmarks and cross-checks.
    Fn* get(std::string_view variant, Device d, DType t) {
        if (!g_initialized.load(std::memory_order_acquire)) [[unlikely]] init();
        const Entry* e = find_entry(variant, d, t);
        MG_CHECK(e != nullptr, "{}: no variant '{}' for device {} and dtype {}", name_, variant, d, t);
        return reinterpret_cast<Fn*>(e->fn);
    }

private:
    // Out of line, so that get() stays as small as it was without the profiler.
    [[gnu::cold, gnu::noinline]] Fn* profiled(Device d, DType t) const {
        return d == Device::CPU && profiled_[int(t)] ? profiled_[int(t)] : active_variant(d, t);
    }
    std::array<Fn*, kDTypes> profiled_;
};

template <class Fn, auto Table>
constexpr std::array<Fn*, 4> profiled_variants() {
    return {&Profiled<Fn, Table, DType::Float32>::call, &Profiled<Fn, Table, DType::Float64>::call,
            &Profiled<Fn, Table, DType::Int64>::call, &Profiled<Fn, Table, DType::UInt8>::call};
}

// All tables, for `minigen info`, `minigen bench` and selection by name.
std::vector<OpTableBase*>& all_tables();
OpTableBase* find_table(std::string_view op);
std::vector<VariantInfo> list_variants();
void select(std::string_view op, std::string_view variant);  // throws mg::Error on an unknown name
void select_defaults();                                      // undo every selection
// Parses "op=variant,op=variant" (the MINIGEN_KERNELS syntax) and applies it.
void select_from_spec(std::string_view spec);

// Declares a table accessor: MG_KERNEL_TABLE(gemm, GemmFn) gives `OpTable<GemmFn>& gemm_table()`.
#define MG_KERNEL_TABLE(op, Fn)                                                                          \
    inline ::mg::kernels::OpTable<Fn>& op##_table() {                                                    \
        static ::mg::kernels::OpTable<Fn> table(#op, ::mg::kernels::profiled_variants<Fn, &op##_table>()); \
        return table;                                                                                    \
    }

}  // namespace mg::kernels
