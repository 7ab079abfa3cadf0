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

namespace mg::autograd {

using Grads = std::vector<Tensor>;  // one per input; undefined = no gradient
// Maps the gradient of the op's output to gradients of its inputs. `output` is the
// op's own output, re-attached to this node, when the op saved it (record(..., true)).
using BackwardFn = std::function<Grads(const Tensor& grad_output, const Tensor& output)>;

struct Node : std::enable_shared_from_this<Node> {
    std::string name;                          // the op ("mul", "conv2d", "accumulate_grad")
    std::vector<std::shared_ptr<Node>> next;   // one per input; null where no gradient flows
    BackwardFn backward;                       // empty once released (graph freed)
    std::weak_ptr<TensorImpl> output;          // for hooks and retain_grad
    std::shared_ptr<TensorImpl> leaf;          // accumulator nodes: the leaf they feed
    Shape out_shape;
    DType out_dtype = DType::Float32;
    uint64_t sequence = 0;                     // creation order
    bool released = false;
    Tensor saved_output;                       // detached alias of the output, if saved
    uint64_t saved_output_version = 0;
};

// ---- grad mode -------------------------------------------------------------
bool grad_enabled();
void set_grad_enabled(bool on);
// Within its scope no op records a graph (inference, optimizer updates).
class NoGradGuard {
public:
    NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
    ~NoGradGuard() { set_grad_enabled(prev_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};
class EnableGradGuard {
public:
    explicit EnableGradGuard(bool on = true) : prev_(grad_enabled()) { set_grad_enabled(on); }
    ~EnableGradGuard() { set_grad_enabled(prev_); }
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool prev_;
};

// ---- anomaly mode ------------------------------------------------------------
// When on, every op checks its output and every backward its gradients for
// NaN/Inf and throws naming the first op that produced one.
bool anomaly_mode();
void set_anomaly_mode(bool on);
class AnomalyGuard {
public:
    explicit AnomalyGuard(bool on = true) : prev_(anomaly_mode()) { set_anomaly_mode(on); }
    ~AnomalyGuard() { set_anomaly_mode(prev_); }
    AnomalyGuard(const AnomalyGuard&) = delete;
    AnomalyGuard& operator=(const AnomalyGuard&) = delete;

private:
    bool prev_;
};

// ---- saving tensors for backward ----------------------------------------------
// An input kept for backward. It remembers the storage version at save time and
// refuses to be used if the data was modified in place since. (An op's own output
// is saved by record(..., save_output=true) instead, without a reference cycle.)
class SavedTensor {
public:
    SavedTensor() = default;
    SavedTensor(const Tensor& t);  // NOLINT: implicit on purpose, [sx = SavedTensor(x)]
    Tensor get() const;           // throws if modified in place since saving
    bool defined() const { return data_.defined(); }

private:
    Tensor data_;
    uint64_t version_ = 0;
};

// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node to `out` (which must be fresh: made by this op). Call only
// when needs_grad(inputs). With save_output, backward receives the output (for
// ops whose derivative is cheapest in terms of it: tanh, sigmoid, exp...).
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward,
              bool save_output = false);

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

// ---- looking at a graph ----------------------------------------------------------
// Graphviz DOT of the graph behind `roots`: one box per op (name, output shape),
// one ellipse per leaf (its name if set, shape), edges in the direction data flows.
std::string to_dot(const std::vector<Tensor>& roots, const std::string& title = "minigen");

// The node that holds gradients for a leaf (created on first use).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);

}  // namespace mg::autograd
