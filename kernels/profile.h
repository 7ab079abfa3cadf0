// The step profiler's recorder: where the time of a training step goes, kernel by kernel.
//
// Off (the default), every kernel call pays one predictable branch: OpTable::get tests
// `enabled()` and returns the variant itself. On, get() returns the table's timing
// trampoline for that dtype (kernels/registry.h), which opens a KernelScope around the
// variant and asks the table's cost model (kernels/cost.h) for the call's FLOPs and bytes.
//
// Time is exclusive: a scope's self time excludes the scopes opened inside it, so a
// kernel that calls another table (conv2d's im2col variant calls gemm) keeps its own
// work as self time and the inner gemm is a row of its own; total time includes it.
// Besides kernels, a few regions are timed where they run (core/allocator.cpp, the
// autograd engine, a node's backward closure, Optimizer::step, the profiler's data
// loading); the step's own self time is what remains (the op layer's checks, tensor
// handles, model code). The parts sum to the step time by construction.
//
// Only the thread that started the Session records: kernels that OpenMP workers call
// inside a parallel kernel are part of that kernel's time.
//
// Attribution to autograd nodes: inside a node's backward every kernel belongs to that
// node ("conv2d", backward); in the forward pass, the kernels an op calls belong to the op
// whose autograd::record() comes next (every differentiable op calls it, with or without
// a gradient to record). Inside the autograd engine outside any node and inside an
// optimizer step, the region names them ("autograd engine", "optimizer step").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/args/dtype.h"

namespace mg::kernels {

class OpTableBase;

// The work of one kernel call, from its arguments alone; < 0: the table has no cost model.
struct Cost {
    double flop = -1;   // floating-point operations (an FMA counts 2)
    double bytes = -1;  // bytes read and written once each (a lower bound on the traffic)
};

namespace profile {

inline std::atomic<bool> g_enabled{false};
// The one test every kernel call makes.
inline bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

// Where time goes besides the kernels themselves; Step's self time is "other".
enum class Region : uint8_t { Step, Kernel, Allocator, AutogradEngine, Backward, Optimizer, Data, Count };
const char* region_name(Region r);

// True when a session records on this thread (then the caller must call leave()).
bool enter(Region r, const char* label = nullptr);
void leave();

// A region for its scope; `label` names the kernels run inside it (a node, "optimizer step").
class Scope {
public:
    explicit Scope(Region r, const char* label = nullptr) : on_(enabled() && enter(r, label)) {}
    ~Scope() {
        if (on_) leave();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    bool on_;
};

// One kernel call (opened by the tables' trampolines).
class KernelScope {
public:
    KernelScope(const OpTableBase& table, DType dtype, Cost cost);
    ~KernelScope();
    KernelScope(const KernelScope&) = delete;
    KernelScope& operator=(const KernelScope&) = delete;

private:
    bool on_;
};

// autograd::record(): the forward kernels since the previous call belong to `op`.
void forward_op_recorded(const char* op);

// Forward: an op's kernels (the node is the op); Backward: inside a node's backward;
// Region: a region's label ("autograd engine", "optimizer step", "data loading").
enum class Phase : uint8_t { Forward, Backward, Region };

// One row: the calls of one (table, dtype) under one autograd node or region.
struct KernelRow {
    std::string table, variant;  // variant: the one active when the profile was summarised
    DType dtype = DType::Float32;
    std::string node;            // the autograd node, or a region's label
    Phase phase = Phase::Forward;
    int64_t calls = 0;
    double self_s = 0, total_s = 0;
    double flop = 0, bytes = 0;  // summed over the calls
    bool has_cost = false;       // every call had a cost model
};

struct Summary {
    int steps = 0;
    double wall_s = 0;  // the steps as a clock outside the recorder measured them
    double region_self_s[int(Region::Count)] = {};  // Kernel: all kernels' self time
    std::vector<KernelRow> rows;
};

// One profile, on the thread that creates it; one at a time. Only steps record: the tables
// hand out trampolines from begin_step to end_step, and run untouched in between.
class Session {
public:
    Session();
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    void begin_step();
    void end_step();
    Summary summary() const;
};

}  // namespace profile
}  // namespace mg::kernels
