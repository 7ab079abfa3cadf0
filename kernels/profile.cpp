#include "kernels/profile.h"

#include <map>
#include <tuple>

#include "kernels/registry.h"

namespace mg::kernels::profile {

namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct Frame {
    Region region;
    int64_t start = 0, child = 0;  // child: the total time of the frames opened inside
    const OpTableBase* table = nullptr;
    DType dtype = DType::Float32;
    Cost cost;
    bool labelled = false;  // restores the label below on leave
    const char* prev_label = nullptr;
    bool prev_backward = false;
};

struct Key {
    const OpTableBase* table;
    DType dtype;
    std::string node;
    Phase phase;
    bool operator<(const Key& o) const {
        return std::tie(table, dtype, node, phase) < std::tie(o.table, o.dtype, o.node, o.phase);
    }
};

struct Totals {
    int64_t calls = 0, self_ns = 0, total_ns = 0;
    double flop = 0, bytes = 0;
    bool has_cost = true;
    void add(int64_t self, int64_t total, const Cost& c) {
        ++calls;
        self_ns += self;
        total_ns += total;
        if (c.flop >= 0 && c.bytes >= 0) flop += c.flop, bytes += c.bytes;
        else has_cost = false;
    }
};

// A forward kernel waiting for the op that called it to record.
struct Pending {
    const OpTableBase* table;
    DType dtype;
    int64_t self, total;
    Cost cost;
};

// The session's state: touched only by the thread that records (t_recording).
struct State {
    bool open = false;
    std::vector<Frame> stack;
    int64_t region_ns[int(Region::Count)] = {};
    std::map<Key, Totals> rows;
    std::vector<Pending> pending;
    const char* label = nullptr;  // the region or node that owns the kernels now; null: the forward pass
    bool backward = false;
    int steps = 0;
    int64_t wall_ns = 0, step_start = 0;
};
State g_state;
thread_local bool t_recording = false;

constexpr const char* kUnrecorded = "(no op recorded)";

void flush_pending(const char* node, Phase phase) {
    for (const Pending& p : g_state.pending)
        g_state.rows[Key{p.table, p.dtype, node, phase}].add(p.self, p.total, p.cost);
    g_state.pending.clear();
}

void push(Frame f) {
    f.start = now_ns();
    g_state.stack.push_back(f);
}

}  // namespace

const char* region_name(Region r) {
    switch (r) {
        case Region::Step: return "other (op layer outside kernels, model code)";
        case Region::Kernel: return "kernels";
        case Region::Allocator: return "allocator";
        case Region::AutogradEngine: return "autograd engine (graph walk, gradient bookkeeping)";
        case Region::Backward: return "backward closures outside kernels (op layer)";
        case Region::Optimizer: return "optimizer step outside kernels";
        case Region::Data: return "data loading";
        case Region::Count: break;
    }
    return "?";
}

bool enter(Region r, const char* label) {
    if (!t_recording) return false;
    Frame f;
    f.region = r;
    if (label) {
        if (!g_state.label) flush_pending(kUnrecorded, Phase::Region);  // leaving the forward pass
        f.labelled = true;
        f.prev_label = g_state.label;
        f.prev_backward = g_state.backward;
        g_state.label = label;
        g_state.backward = r == Region::Backward;
    }
    push(f);
    return true;
}

void leave() {
    const int64_t end = now_ns();
    if (g_state.stack.empty()) return;  // end_step closed it already
    Frame f = g_state.stack.back();
    g_state.stack.pop_back();
    const int64_t total = end - f.start, self = total - f.child;
    if (!g_state.stack.empty()) g_state.stack.back().child += total;
    g_state.region_ns[int(f.region)] += self;
    if (f.region == Region::Kernel) {
        if (g_state.label)
            g_state.rows[Key{f.table, f.dtype, g_state.label, g_state.backward ? Phase::Backward : Phase::Region}].add(self, total, f.cost);
        else
            g_state.pending.push_back({f.table, f.dtype, self, total, f.cost});
    }
    if (f.labelled) {
        g_state.label = f.prev_label;
        g_state.backward = f.prev_backward;
    }
}

KernelScope::KernelScope(const OpTableBase& table, DType dtype, Cost cost) : on_(t_recording) {
    if (!on_) return;
    Frame f;
    f.region = Region::Kernel;
    f.table = &table;
    f.dtype = dtype;
    f.cost = cost;
    push(f);
}

KernelScope::~KernelScope() {
    if (on_) leave();
}

void forward_op_recorded(const char* op) {
    if (t_recording && !g_state.label) flush_pending(op, Phase::Forward);
}

Session::Session() {
    MG_CHECK(!g_state.open, "profile: a session is already recording");
    g_state = State();
    g_state.open = true;
}

Session::~Session() {
    t_recording = false;
    g_enabled.store(false, std::memory_order_relaxed);
    g_state = State();
}

void Session::begin_step() {
    MG_CHECK(!t_recording, "profile: begin_step inside a step");
    g_state.step_start = now_ns();
    g_state.stack.clear();
    g_state.label = nullptr;
    g_state.backward = false;
    t_recording = true;
    g_enabled.store(true, std::memory_order_relaxed);
    Frame step;
    step.region = Region::Step;
    push(step);
}

void Session::end_step() {
    MG_CHECK(t_recording, "profile: end_step without begin_step");
    // A step that threw leaves its frames open: close them, counting their time so far.
    while (!g_state.stack.empty()) leave();
    flush_pending(kUnrecorded, Phase::Region);
    t_recording = false;
    g_enabled.store(false, std::memory_order_relaxed);
    ++g_state.steps;
    g_state.wall_ns += now_ns() - g_state.step_start;
}

Summary Session::summary() const {
    Summary s;
    s.steps = g_state.steps;
    s.wall_s = double(g_state.wall_ns) * 1e-9;
    for (int r = 0; r < int(Region::Count); ++r) s.region_self_s[r] = double(g_state.region_ns[r]) * 1e-9;
    for (const auto& [key, t] : g_state.rows) {
        KernelRow row;
        row.table = key.table->name();
        for (const VariantInfo& v : key.table->variants())
            if (v.active && v.device == Device::CPU && v.dtype == key.dtype) row.variant = v.name;
        row.dtype = key.dtype;
        row.node = key.node;
        row.phase = key.phase;
        row.calls = t.calls;
        row.self_s = double(t.self_ns) * 1e-9;
        row.total_s = double(t.total_ns) * 1e-9;
        row.flop = t.flop;
        row.bytes = t.bytes;
        row.has_cost = t.has_cost;
        s.rows.push_back(std::move(row));
    }
    return s;
}

}  // namespace mg::kernels::profile
