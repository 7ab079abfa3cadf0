// Autograd: define-by-run graphs of single-output nodes.
//
// Each differentiable op that sees an input needing a gradient records a Node:
// its name, edges to the nodes of its inputs, and a backward closure that maps
// the gradient of its output to gradients of its inputs. Backward closures are
// written with differentiable ops (core/ops.h), so running them with
// create_graph=true records a graph of the gradient itself: gradients of
// gradients (WGAN-GP, R1) come for free.
//
// Leaves that require grad get an accumulator node; backward() sums into .grad.
// The engine (autograd.cpp) runs the nodes reachable from the roots once each,
// in reverse creation order, after all their consumers have run.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/profile.h"

namespace mg::autograd {

using Grads = std::vector<Tensor>;  // one per input; undefined = no gradient

// An input kept for backward. It remembers the storage version at save time and
// refuses to be used if the data was modified in place since.
class SavedTensor {
public:
    SavedTensor() = default;
    explicit SavedTensor(const Tensor& t);
    Tensor get(const std::string& op) const;  // throws, naming op, if modified in place since saving
    bool defined() const { return data_.defined(); }

private:
    Tensor data_;
    uint64_t version_ = 0;
};

struct Node;
// What a backward reads of its op: the inputs it kept, its output (attached to the node, so
// a backward that uses it is differentiable), each input's shape, and which inputs get a
// gradient (return an undefined tensor for the others).
class Saved {
public:
    explicit Saved(Node& node) : node_(node) {}
    Tensor input(size_t i) const;       // throws if the op kept no inputs or it was modified in place
    Tensor output() const;              // throws if the op did not keep its output
    const Shape& shape(size_t i) const;  // input i's shape
    bool needs_grad(size_t i) const;

private:
    Node& node_;
};

// Maps the gradient of the op's output to gradients of its inputs.
using BackwardFn = std::function<Grads(const Tensor& grad_output, const Saved& saved)>;

// What a node keeps for its backward besides the inputs' shapes. The output is kept without a
// reference cycle (for ops whose derivative is cheapest in terms of it: tanh, sigmoid, exp...).
enum class Keep { Inputs, Output, InputsAndOutput, Shapes };

struct Node : std::enable_shared_from_this<Node> {
    struct Input {
        std::shared_ptr<Node> next;  // where its gradient flows; null where none does
        Shape shape;
        SavedTensor saved;           // with Keep::Inputs; undefined for an undefined input
    };
    std::string name;                          // the op ("mul", "conv2d", "accumulate_grad")
    std::vector<Input> inputs;
    BackwardFn backward;                       // empty once released (graph freed)
    std::weak_ptr<TensorImpl> output;          // for hooks and retain_grad
    std::shared_ptr<TensorImpl> leaf;          // accumulator nodes: the leaf they feed
    Shape out_shape;
    DType out_dtype = DType::Float32;
    uint64_t sequence = 0;                     // creation order
    bool released = false;
    bool inputs_kept = false;                  // Keep::Inputs: each Input's saved is set
    SavedTensor saved_output;                  // a detached alias of the output, with Keep::Output
};

// ---- grad mode -------------------------------------------------------------
bool grad_enabled();
void set_grad_enabled(bool on);
// Sets a mode for its scope and restores the previous one.
template <bool (*Get)(), void (*Set)(bool)>
class ModeGuard {
public:
    explicit ModeGuard(bool on = true) : prev_(Get()) { Set(on); }
    ~ModeGuard() { Set(prev_); }
    ModeGuard(const ModeGuard&) = delete;
    ModeGuard& operator=(const ModeGuard&) = delete;

private:
    bool prev_;
};
using EnableGradGuard = ModeGuard<grad_enabled, set_grad_enabled>;
// Within its scope no op records a graph (inference, optimizer updates).
class NoGradGuard : public EnableGradGuard {
public:
    NoGradGuard() : EnableGradGuard(false) {}
};

// ---- anomaly mode ------------------------------------------------------------
// When on, every op checks its output and every backward its gradients for
// NaN/Inf and throws naming the first op that produced one.
bool anomaly_mode();
void set_anomaly_mode(bool on);
using AnomalyGuard = ModeGuard<anomaly_mode, set_anomaly_mode>;

// ---- recording an op -------------------------------------------------------------
// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const Tensor* inputs, size_t count);

// Attaches a node to `out` (which must be fresh: made by this op). Call only when
// needs_grad(inputs); record() below checks that.
Tensor attach(const char* name, Tensor out, const Tensor* inputs, size_t count, BackwardFn backward, Keep keep);

// The one way an op records its backward: returns `out` as is when no input needs a gradient
// (or grad mode is off); else attaches a node named `name` that keeps what `keep` says and
// runs `backward(grad_output, saved)`, written with differentiable ops (core/ops.h).
template <class Backward>
Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, Backward&& backward,
              Keep keep = Keep::Inputs) {
    if (kernels::profile::enabled()) [[unlikely]] kernels::profile::forward_op_recorded(name);
    if (!needs_grad(inputs.begin(), inputs.size())) return out;
    return attach(name, std::move(out), inputs.begin(), inputs.size(), BackwardFn(std::forward<Backward>(backward)),
                  keep);
}
template <class Backward>
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, Backward&& backward,
              Keep keep = Keep::Inputs) {
    if (kernels::profile::enabled()) [[unlikely]] kernels::profile::forward_op_recorded(name);
    if (!needs_grad(inputs.data(), inputs.size())) return out;
    return attach(name, std::move(out), inputs.data(), inputs.size(), BackwardFn(std::forward<Backward>(backward)),
                  keep);
}

// In anomaly mode, throws if `out` holds NaN/Inf, naming `op`.
void check_forward_anomaly(const char* op, const Tensor& out);

// ---- running backward ----------------------------------------------------------
// Accumulates d(sum of roots · grads)/d(leaf) into every reachable leaf's .grad.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads = {},
              bool retain_graph = false, bool create_graph = false);

// Gradients of `outputs` with respect to `inputs`, returned instead of stored
// (torch.autograd.grad). With create_graph the result is differentiable again.
// An input the outputs do not depend on gets an undefined tensor if allow_unused,
// else an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

// Called by backward() (never by grad()) each time it has added a gradient into a leaf's
// .grad. A leaf's accumulator runs once per backward, after every path to it (a gradient
// penalty's double-backward terms included), so .grad then holds that backward's whole
// contribution. Data-parallel training starts reducing gradient buckets from here while
// backward goes on (core/dist/grad_bucketer.h). One per process; an empty function removes it.
using LeafGradientHook = std::function<void(const TensorImpl& leaf)>;
void set_leaf_gradient_hook(LeafGradientHook hook);

// ---- looking at a graph ----------------------------------------------------------
// Graphviz DOT of the graph behind `roots`: one box per op (name, output shape),
// one ellipse per leaf (its name if set, shape), edges in the direction data flows.
std::string to_dot(const std::vector<Tensor>& roots, const std::string& title = "minigen");

// The node that holds gradients for a leaf (created on first use).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

}  // namespace mg::autograd
