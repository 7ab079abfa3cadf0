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

// A table of variants that share the function type Fn.
template <class Fn>
class OpTable : public OpTableBase {
public:
    using OpTableBase::OpTableBase;

    void add(std::string_view variant, Device d, DType t, Fn* fn, int priority, std::string_view doc) {
        add_entry({std::string(variant), d, t, priority, std::string(doc), reinterpret_cast<void (*)()>(fn)});
    }
    // The active variant for (d, t).
    Fn* get(Device d, DType t) {
        if (!g_initialized.load(std::memory_order_acquire)) [[unlikely]] init();
        void (*f)() = active_[slot(d, t)];
        MG_CHECK(f != nullptr, "{}: no kernel registered for device {} and dtype {}", name_, d, t);
        return reinterpret_cast<Fn*>(f);
    }
    // A named variant, for benchmarks and cross-checks.
    Fn* get(std::string_view variant, Device d, DType t) {
        if (!g_initialized.load(std::memory_order_acquire)) [[unlikely]] init();
        const Entry* e = find_entry(variant, d, t);
        MG_CHECK(e != nullptr, "{}: no variant '{}' for device {} and dtype {}", name_, variant, d, t);
        return reinterpret_cast<Fn*>(e->fn);
    }
};

// All tables, for `minigen info`, `minigen bench` and selection by name.
std::vector<OpTableBase*>& all_tables();
OpTableBase* find_table(std::string_view op);
std::vector<VariantInfo> list_variants();
void select(std::string_view op, std::string_view variant);  // throws mg::Error on an unknown name
void select_defaults();                                      // undo every selection
// Parses "op=variant,op=variant" (the MINIGEN_KERNELS syntax) and applies it.
void select_from_spec(std::string_view spec);

// Declares a table accessor: MG_KERNEL_TABLE(gemm, GemmFn) gives `OpTable<GemmFn>& gemm_table()`.
#define MG_KERNEL_TABLE(op, Fn)                                  \
    inline ::mg::kernels::OpTable<Fn>& op##_table() {            \
        static ::mg::kernels::OpTable<Fn> table(#op);            \
        return table;                                            \
    }

}  // namespace mg::kernels
