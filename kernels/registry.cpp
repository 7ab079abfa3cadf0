#include "kernels/registry.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

namespace mg::kernels {

std::atomic<bool> g_initialized{false};

void register_all_kernels();  // kernels/register_all.cpp

std::vector<OpTableBase*>& all_tables() {
    static std::vector<OpTableBase*> tables;
    return tables;
}

OpTableBase::OpTableBase(std::string_view name) : name_(name) { all_tables().push_back(this); }

void OpTableBase::add_entry(Entry e) {
    for (const Entry& old : entries_)
        MG_CHECK(!(old.name == e.name && old.device == e.device && old.dtype == e.dtype),
                 "kernel registry: {} variant '{}' registered twice for {} {}", name_, e.name, e.device,
                 e.dtype);
    entries_.push_back(std::move(e));
    recompute_active();
}

const OpTableBase::Entry* OpTableBase::find_entry(std::string_view variant, Device d, DType t) const {
    for (const Entry& e : entries_)
        if (e.name == variant && e.device == d && e.dtype == t) return &e;
    return nullptr;
}

bool OpTableBase::has(std::string_view variant, Device d, DType t) const {
    return find_entry(variant, d, t) != nullptr;
}

void OpTableBase::recompute_active() {
    for (int s = 0; s < kDevices * kDTypes; ++s) {
        const Entry* best = nullptr;
        for (const Entry& e : entries_) {
            if (slot(e.device, e.dtype) != s) continue;
            if (!chosen_[s].empty()) {
                if (e.name == chosen_[s]) best = &e;
            } else if (!best || e.priority > best->priority) {
                best = &e;
            }
        }
        active_[s] = best ? best->fn : nullptr;
    }
}

void OpTableBase::select(std::string_view variant) { select_where(variant, nullptr); }
void OpTableBase::select(std::string_view variant, Device device) { select_where(variant, &device); }

void OpTableBase::select_where(std::string_view variant, const Device* device) {
    bool any = false;
    for (const Entry& e : entries_) {
        if (e.name == variant && (device == nullptr || e.device == *device)) {
            chosen_[slot(e.device, e.dtype)] = std::string(variant);
            any = true;
        }
    }
    if (!any) {
        std::string known;
        for (const Entry& e : entries_)
            if (known.find(e.name) == std::string::npos) known += (known.empty() ? "" : ", ") + e.name;
        MG_FAIL("kernel registry: op '{}' has no variant '{}'{} (known: {})", name_, variant,
                device ? fmt::format(" on {}", *device) : std::string(), known);
    }
    recompute_active();
}

void OpTableBase::select_default() {
    chosen_.fill(std::string());
    recompute_active();
}

std::vector<VariantInfo> OpTableBase::variants() const {
    std::vector<VariantInfo> out;
    for (const Entry& e : entries_)
        out.push_back({name_, e.name, e.device, e.dtype, e.priority, e.doc,
                       active_[slot(e.device, e.dtype)] == e.fn});
    return out;
}

static void ensure_init() {
    if (!g_initialized.load(std::memory_order_acquire)) init();
}

OpTableBase* find_table(std::string_view op) {
    ensure_init();
    for (OpTableBase* t : all_tables())
        if (t->name() == op) return t;
    return nullptr;
}

std::vector<VariantInfo> list_variants() {
    ensure_init();
    std::vector<VariantInfo> out;
    for (OpTableBase* t : all_tables()) {
        auto v = t->variants();
        out.insert(out.end(), v.begin(), v.end());
    }
    std::stable_sort(out.begin(), out.end(), [](const VariantInfo& a, const VariantInfo& b) { return a.op < b.op; });
    return out;
}

void select(std::string_view op, std::string_view variant) {
    OpTableBase* t = find_table(op);
    MG_CHECK(t != nullptr, "kernel registry: no op named '{}'", op);
    t->select(variant);
}

void select_defaults() {
    ensure_init();
    for (OpTableBase* t : all_tables()) t->select_default();
}

void select_from_spec(std::string_view spec) {
    size_t pos = 0;
    while (pos < spec.size()) {
        size_t comma = spec.find(',', pos);
        if (comma == std::string_view::npos) comma = spec.size();
        std::string_view item = spec.substr(pos, comma - pos);
        pos = comma + 1;
        if (item.empty()) continue;
        size_t eq = item.find('=');
        MG_CHECK(eq != std::string_view::npos && eq > 0 && eq + 1 < item.size(),
                 "MINIGEN_KERNELS: expected op=variant, got '{}'", item);
        select(item.substr(0, eq), item.substr(eq + 1));
    }
}

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        register_all_kernels();
        // Set before reading the environment: selecting by name looks tables up again.
        g_initialized.store(true, std::memory_order_release);
        if (const char* env = std::getenv("MINIGEN_KERNELS")) select_from_spec(env);
    });
}

}  // namespace mg::kernels
