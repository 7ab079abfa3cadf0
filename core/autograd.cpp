// The autograd engine: recording nodes, and running backward over them.
#include "core/autograd.h"

#include <atomic>
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/ops.h"

namespace mg::autograd {

// ---- modes -------------------------------------------------------------------
static thread_local bool t_grad_enabled = true;
static std::atomic<bool> g_anomaly{false};
static std::atomic<uint64_t> g_sequence{0};
static thread_local const char* t_backward_of = nullptr;  // the node whose backward is running
static LeafGradientHook g_leaf_gradient_hook;

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }
bool anomaly_mode() { return g_anomaly.load(std::memory_order_relaxed); }
void set_anomaly_mode(bool on) { g_anomaly.store(on); }
void set_leaf_gradient_hook(LeafGradientHook hook) { g_leaf_gradient_hook = std::move(hook); }

// ---- saved tensors -------------------------------------------------------------
static void check_version(const Tensor& t, uint64_t saved, const std::string& op) {
    uint64_t now = t.impl()->storage->version;
    MG_CHECK(now == saved,
             "autograd: a tensor {} saved for the backward of '{}' was modified in place (version {} -> {}); "
             "clone it before modifying it",
             t.shape(), op, saved, now);
}

SavedTensor::SavedTensor(const Tensor& t) : data_(t) {
    if (t.defined()) version_ = t.impl()->storage->version;
}

Tensor SavedTensor::get(const std::string& op) const {
    if (data_.defined()) check_version(data_, version_, op);
    return data_;
}

Tensor Saved::input(size_t i) const {
    const Node::Input& in = node_.inputs.at(i);
    MG_CHECK(node_.inputs_kept, "autograd: the backward of '{}' reads input {}, which the op did not keep",
             node_.name, i);
    return in.saved.get(node_.name);
}

Tensor Saved::output() const {
    MG_CHECK(node_.saved_output.defined(), "autograd: the backward of '{}' reads its output, which the op did not keep",
             node_.name);
    Tensor t = node_.saved_output.get(node_.name).detach();
    t.impl()->grad_fn = node_.shared_from_this();
    t.impl()->requires_grad = true;
    return t;
}

const Shape& Saved::shape(size_t i) const { return node_.inputs.at(i).shape; }
bool Saved::needs_grad(size_t i) const { return node_.inputs.at(i).next != nullptr; }

// ---- recording ---------------------------------------------------------------------
bool needs_grad(std::initializer_list<const Tensor*> inputs) {
    if (!t_grad_enabled) return false;
    for (const Tensor* t : inputs)
        if (t->defined() && t->requires_grad()) return true;
    return false;
}
bool needs_grad(const Tensor* inputs, size_t count) {
    if (!t_grad_enabled) return false;
    for (size_t i = 0; i < count; ++i)
        if (inputs[i].defined() && inputs[i].requires_grad()) return true;
    return false;
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
    TensorImpl* impl = leaf.impl();
    MG_CHECK(impl->grad_fn == nullptr, "grad_accumulator: tensor is not a leaf");
    if (auto node = impl->grad_accumulator.lock()) return node;
    auto node = std::make_shared<Node>();
    node->name = "accumulate_grad";
    node->leaf = leaf.impl_ptr();
    node->out_shape = impl->shape;
    node->out_dtype = impl->dtype;
    node->sequence = g_sequence.fetch_add(1);
    impl->grad_accumulator = node;
    return node;
}

// The node a gradient for tensor t flows into: its grad_fn, or a leaf's accumulator.
static std::shared_ptr<Node> gradient_edge(const Tensor& t) {
    if (!t.defined() || !t.requires_grad()) return nullptr;
    if (t.grad_fn()) return t.grad_fn();
    return grad_accumulator(t);
}

static bool all_finite(const Tensor& t) {
    if (!is_floating(t.dtype())) return true;
    NoGradGuard no_grad;
    for (double v : t.to_vector<double>())
        if (!std::isfinite(v)) return false;
    return true;
}

void check_forward_anomaly(const char* op, const Tensor& out) {
    if (!anomaly_mode() || !out.defined() || all_finite(out)) return;
    if (t_backward_of)
        MG_FAIL("anomaly: the backward of '{}' produced NaN or Inf (in its '{}', output {})", t_backward_of, op,
                out.shape());
    MG_FAIL("anomaly: the forward of '{}' produced NaN or Inf in its output {}", op, out.shape());
}

Tensor attach(const char* name, Tensor out, const Tensor* inputs, size_t count, BackwardFn backward, Keep keep) {
    TensorImpl* impl = out.impl();
    MG_CHECK(impl->grad_fn == nullptr, "autograd: '{}' tried to record onto a tensor that already has history", name);
    auto node = std::make_shared<Node>();
    node->name = name;
    node->inputs_kept = keep == Keep::Inputs || keep == Keep::InputsAndOutput;
    node->inputs.resize(count);
    for (size_t i = 0; i < count; ++i) {
        Node::Input& in = node->inputs[i];
        in.next = gradient_edge(inputs[i]);
        if (!inputs[i].defined()) continue;
        in.shape = inputs[i].shape();
        if (node->inputs_kept) in.saved = SavedTensor(inputs[i]);
    }
    node->backward = std::move(backward);
    node->out_shape = out.shape();
    node->out_dtype = out.dtype();
    node->sequence = g_sequence.fetch_add(1);
    node->output = out.impl_ptr();
    if (keep == Keep::Output || keep == Keep::InputsAndOutput) node->saved_output = SavedTensor(out.detach());
    impl->grad_fn = std::move(node);
    impl->requires_grad = true;
    return out;
}

// ---- the engine --------------------------------------------------------------------
namespace {

struct BySequence {
    bool operator()(const Node* a, const Node* b) const { return a->sequence < b->sequence; }
};

// Adds g into slot, building a graph only when create_graph asks for one.
void accumulate(Tensor& slot, const Tensor& g) {
    if (!slot.defined()) slot = g;
    else slot = add(slot, g);
}

Tensor apply_hooks(const std::shared_ptr<TensorImpl>& impl, Tensor g) {
    if (!impl) return g;
    for (auto& hook : impl->hooks) {
        if (auto replaced = hook(g)) {
            MG_CHECK(replaced->shape() == g.shape(), "hook: returned a gradient of shape {} for a tensor of shape {}",
                     replaced->shape(), g.shape());
            g = *replaced;
        }
    }
    return g;
}

// Stores a finished gradient into a leaf's .grad.
void accumulate_into_leaf(TensorImpl& leaf, const Tensor& g, bool create_graph) {
    if (!leaf.grad.defined()) {
        // Take the gradient as is only if nothing else can see its storage.
        bool exclusive = g.is_contiguous() && g.impl()->storage.use_count() == 1 && g.offset() == 0;
        leaf.grad = create_graph ? g : (exclusive ? g.detach() : g.detach().clone());
    } else if (create_graph) {
        leaf.grad = add(leaf.grad, g);
    } else {
        NoGradGuard no_grad;
        if (leaf.grad.requires_grad()) leaf.grad = add(leaf.grad.detach(), g);
        else leaf.grad.add_(g);
    }
}

struct RunOptions {
    bool retain_graph = false;
    bool create_graph = false;
    // grad(): capture the gradients arriving at these nodes instead of writing .grad
    const std::vector<std::shared_ptr<Node>>* capture = nullptr;
};

// Runs backward from (root node, gradient) pairs. Returns the captured gradients.
std::vector<Tensor> run(const std::vector<std::pair<std::shared_ptr<Node>, Tensor>>& roots, const RunOptions& opt) {
    kernels::profile::Scope profiled(kernels::profile::Region::AutogradEngine, "autograd engine");
    // 1. Discover the graph and count, for each node, the edges that feed it.
    std::unordered_map<Node*, int> deps;
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (auto& [node, g] : roots)
        if (node && seen.insert(node.get()).second) stack.push_back(node.get());
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        for (auto& in : n->inputs) {
            Node* next = in.next.get();
            if (!next) continue;
            ++deps[next];
            if (seen.insert(next).second) stack.push_back(next);
        }
    }

    // 2. grad(): run only the nodes from which a captured node can be reached.
    std::unordered_set<Node*> needed;
    std::unordered_map<Node*, size_t> capture_index;
    if (opt.capture) {
        for (size_t i = 0; i < opt.capture->size(); ++i)
            if ((*opt.capture)[i]) capture_index.emplace((*opt.capture)[i].get(), i);
        // Reverse reachability: a node is needed if any successor is needed or captured.
        std::unordered_map<Node*, int> state;  // 0 unknown, 1 in progress, 2 done
        std::function<bool(Node*)> visit = [&](Node* n) -> bool {
            auto it = state.find(n);
            if (it != state.end()) return needed.count(n) > 0;
            state[n] = 1;
            bool need = capture_index.count(n) > 0;
            for (auto& in : n->inputs)
                if (in.next && visit(in.next.get())) need = true;
            state[n] = 2;
            if (need) needed.insert(n);
            return need;
        };
        for (auto& [node, g] : roots)
            if (node) visit(node.get());
    }

    // 3. Run nodes whose consumers are all done, newest first.
    std::unordered_map<Node*, Tensor> pending;
    std::priority_queue<Node*, std::vector<Node*>, BySequence> ready;
    for (auto& [node, g] : roots) {
        if (!node) continue;
        accumulate(pending[node.get()], g);
    }
    for (auto& [node, g] : roots)
        if (node && deps[node.get()] == 0) {
            ready.push(node.get());
            deps[node.get()] = -1;  // queued
        }
    // A node whose consumers are all done runs next; one that received no gradient
    // still releases its inputs, which may be waiting for gradients from elsewhere.
    auto release_inputs = [&](Node* n) {
        for (auto& in : n->inputs)
            if (in.next && --deps[in.next.get()] == 0) ready.push(in.next.get());
    };

    std::vector<Tensor> captured(opt.capture ? opt.capture->size() : 0);
    EnableGradGuard grad_mode(opt.create_graph);
    while (!ready.empty()) {
        Node* n = ready.top();
        ready.pop();
        Tensor g;
        if (auto it = pending.find(n); it != pending.end()) {
            g = std::move(it->second);
            pending.erase(it);
        }
        if (!g.defined()) {
            release_inputs(n);
            continue;
        }
        MG_CHECK(g.shape() == n->out_shape, "autograd: '{}' received a gradient of shape {} for an output of shape {}",
                 n->name, g.shape(), n->out_shape);

        g = apply_hooks(n->leaf ? n->leaf : n->output.lock(), g);
        if (opt.capture) {
            auto it = capture_index.find(n);
            if (it != capture_index.end()) captured[it->second] = g;
        }

        if (n->leaf) {  // an accumulator: the end of a path
            if (opt.capture) continue;
            accumulate_into_leaf(*n->leaf, g, opt.create_graph);
            if (g_leaf_gradient_hook) g_leaf_gradient_hook(*n->leaf);
            continue;
        }
        if (auto out = n->output.lock(); out && out->retains_grad && !opt.capture) {
            NoGradGuard no_grad;
            out->grad = out->grad.defined() ? add(out->grad, g.detach()) : g.detach().clone();
        }
        if (opt.capture && !needed.count(n)) continue;

        MG_CHECK(!n->released && n->backward,
                 "autograd: backward through '{}' a second time, but its saved tensors were already freed; "
                 "pass retain_graph=true to the first backward",
                 n->name);
        Grads grads;
        {
            const char* outer = t_backward_of;
            t_backward_of = n->name.c_str();
            kernels::profile::Scope profiled(kernels::profile::Region::Backward, n->name.c_str());
            try {
                grads = n->backward(g, Saved(*n));
            } catch (...) {
                t_backward_of = outer;
                throw;
            }
            t_backward_of = outer;
        }
        MG_CHECK(grads.size() == n->inputs.size(), "autograd: backward of '{}' returned {} gradients for {} inputs",
                 n->name, grads.size(), n->inputs.size());
        if (!opt.retain_graph) {
            n->backward = nullptr;
            for (Node::Input& in : n->inputs) in.saved = SavedTensor();
            n->saved_output = SavedTensor();
            n->released = true;
        }
        for (size_t i = 0; i < grads.size(); ++i) {
            Node* next = n->inputs[i].next.get();
            if (!next) continue;
            if (grads[i].defined()) {
                if (anomaly_mode())
                    MG_CHECK(all_finite(grads[i]),
                             "anomaly: the backward of '{}' produced NaN or Inf in the gradient of its input {} {}",
                             n->name, i, grads[i].shape());
                accumulate(pending[next], grads[i]);
            }
            if (--deps[next] == 0) ready.push(next);
        }
    }
    return captured;
}

Tensor default_root_grad(const Tensor& root, const char* who) {
    MG_CHECK(root.numel() == 1,
             "{}: the output has shape {}; pass a gradient of that shape, or reduce it to a scalar first", who,
             root.shape());
    return ones_like(root);
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph,
              bool create_graph) {
    MG_CHECK(grads.empty() || grads.size() == roots.size(), "backward: {} roots but {} gradients", roots.size(),
             grads.size());
    std::vector<std::pair<std::shared_ptr<Node>, Tensor>> pairs;
    for (size_t i = 0; i < roots.size(); ++i) {
        const Tensor& r = roots[i];
        MG_CHECK(r.defined(), "backward: undefined tensor");
        MG_CHECK(r.requires_grad(),
                 "backward: the tensor {} does not require grad and has no grad_fn (was it computed under "
                 "NoGradGuard, or from tensors that do not require grad?)",
                 r.shape());
        Tensor g = grads.empty() || !grads[i].defined() ? default_root_grad(r, "backward") : grads[i];
        MG_CHECK(g.shape() == r.shape(), "backward: gradient of shape {} for an output of shape {}", g.shape(),
                 r.shape());
        pairs.emplace_back(gradient_edge(r), g);
    }
    RunOptions opt;
    opt.retain_graph = retain_graph || create_graph;
    opt.create_graph = create_graph;
    run(pairs, opt);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
    MG_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: {} outputs but {} grad_outputs",
             outputs.size(), grad_outputs.size());
    std::vector<std::pair<std::shared_ptr<Node>, Tensor>> pairs;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& o = outputs[i];
        MG_CHECK(o.defined() && o.requires_grad(), "grad: output {} does not require grad", i);
        Tensor g = grad_outputs.empty() || !grad_outputs[i].defined() ? default_root_grad(o, "grad") : grad_outputs[i];
        MG_CHECK(g.shape() == o.shape(), "grad: grad_output {} has shape {}, output has {}", i, g.shape(), o.shape());
        pairs.emplace_back(gradient_edge(o), g);
    }
    std::vector<std::shared_ptr<Node>> capture;
    for (size_t i = 0; i < inputs.size(); ++i) {
        MG_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad: input {} does not require grad", i);
        capture.push_back(gradient_edge(inputs[i]));
    }
    RunOptions opt;
    opt.retain_graph = retain_graph || create_graph;
    opt.create_graph = create_graph;
    opt.capture = &capture;
    std::vector<Tensor> result = run(pairs, opt);
    for (size_t i = 0; i < result.size(); ++i)
        MG_CHECK(result[i].defined() || allow_unused,
                 "grad: input {} {} is not used to compute the outputs (pass allow_unused=true to get an undefined "
                 "gradient)",
                 i, inputs[i].shape());
    return result;
}

// ---- DOT export ---------------------------------------------------------------------
std::string to_dot(const std::vector<Tensor>& roots, const std::string& title) {
    std::string out = fmt::format("digraph \"{}\" {{\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
                                  title);
    std::unordered_map<Node*, int> ids;
    std::vector<Node*> stack;
    auto id_of = [&](Node* n) {
        auto [it, fresh] = ids.emplace(n, int(ids.size()));
        if (fresh) stack.push_back(n);
        return it->second;
    };
    for (size_t i = 0; i < roots.size(); ++i) {
        const Tensor& r = roots[i];
        if (!r.defined()) continue;
        out += fmt::format("  out{} [label=\"output {}\\n{}\", shape=plaintext];\n", i, i, r.shape());
        if (auto n = r.grad_fn()) out += fmt::format("  n{} -> out{};\n", id_of(n.get()), i);
    }
    while (!stack.empty()) {
        Node* n = stack.back();
        stack.pop_back();
        int id = ids[n];
        if (n->leaf) {
            const std::string& name = n->leaf->name;
            out += fmt::format("  n{} [label=\"{}{}\", shape=ellipse, style=filled, fillcolor=\"#dce9f7\"];\n", id,
                               name.empty() ? "leaf" : name, fmt::format("\\n{}", n->out_shape));
        } else {
            out += fmt::format("  n{} [label=\"{}\\n{}\", shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\"];\n",
                               id, n->name, n->out_shape);
        }
        for (auto& in : n->inputs)
            if (in.next) out += fmt::format("  n{} -> n{};\n", id_of(in.next.get()), id);
    }
    out += "}\n";
    return out;
}

}  // namespace mg::autograd
