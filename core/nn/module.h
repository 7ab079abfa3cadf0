// nn::Module: the base of every layer and model, shaped like torch.nn.Module.
//
// A module owns named parameters (leaves that require grad), named buffers
// (state that is saved but not trained: BatchNorm's running statistics, a
// PixelCNN mask) and named child modules. Modules are held by std::shared_ptr.
//
//   struct Net : nn::Module {
//       std::shared_ptr<nn::Linear> fc1, fc2;
//       Net() {
//           fc1 = register_module("fc1", std::make_shared<nn::Linear>(784, 400));
//           fc2 = register_module("fc2", std::make_shared<nn::Linear>(400, 10));
//       }
//       Tensor forward(const Tensor& x) override { return (*fc2)(relu((*fc1)(x))); }
//   };
//
// Names are dotted paths in registration order, as PyTorch writes them:
// "fc1.weight", "main.1.bias", "bn.running_mean", "bn.num_batches_tracked".
//
// Members such as Linear::weight are handles to the registered tensors (one
// TensorImpl, shared). Change their values in place (load_state_dict, nn::init,
// an optimizer under NoGradGuard); assigning a new Tensor to a member would
// detach it from the module's registry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/nn/state_dict.h"
#include "core/tensor.h"

namespace mg::nn {

class Module;
using NamedTensor = std::pair<std::string, Tensor>;
using NamedModule = std::pair<std::string, std::shared_ptr<Module>>;

// What load_state_dict(sd, strict=false) skipped (strict loading throws instead).
struct LoadResult {
    std::vector<std::string> missing_keys;     // in the module, not in the state dict
    std::vector<std::string> unexpected_keys;  // in the state dict, not in the module
};

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;  // copies would share every tensor; build a new module instead
    Module& operator=(const Module&) = delete;

    // ---- computing -----------------------------------------------------------------
    // x -> y. A module with several inputs defines its own call signature instead.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    // ---- registering (from a subclass constructor) ----------------------------------
    // Makes `tensor` a parameter: a leaf that requires grad (unless requires_grad is
    // false), named `name` for graph exports. An undefined tensor registers nothing
    // (a layer built with bias=false). Returns the same handle.
    Tensor register_parameter(const std::string& name, const Tensor& tensor, bool requires_grad = true);
    // A buffer is saved in state_dict() (unless not persistent) and moved by to(),
    // but not returned by parameters(). An undefined tensor registers nothing.
    Tensor register_buffer(const std::string& name, const Tensor& tensor, bool persistent = true);
    // Adds a child; its tensors are renamed "<name>.<their name>". Returns the child.
    template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        static_assert(std::is_base_of_v<Module, M>, "register_module: the module must derive from nn::Module");
        add_child(name, module);
        return module;
    }

    // ---- walking the tree (registration order, depth first, this module first) ----------
    // Each tensor appears once, under its first name, even if shared by two modules.
    std::vector<Tensor> parameters(bool recurse = true) const;
    std::vector<NamedTensor> named_parameters(bool recurse = true) const;
    std::vector<Tensor> buffers(bool recurse = true) const;
    std::vector<NamedTensor> named_buffers(bool recurse = true) const;
    std::vector<std::shared_ptr<Module>> children() const;
    std::vector<NamedModule> named_children() const;
    // Every module of the tree, this one first under the name "" (non-owning pointers).
    std::vector<std::pair<std::string, Module*>> named_modules();
    // Calls fn on every child (recursively, children first) and then on this module,
    // like PyTorch's apply: net->apply([](nn::Module& m) { if (auto* c = m.as<nn::Conv2d>()) ... });
    void apply(const std::function<void(Module&)>& fn);
    // This module as an M, or nullptr.
    template <class M> M* as() { return dynamic_cast<M*>(this); }
    int64_t num_parameters() const;  // total elements of parameters()

    // ---- state ---------------------------------------------------------------------------
    // Parameters and persistent buffers by dotted name, as detached handles that share
    // the module's storage (like PyTorch's state_dict()).
    StateDict state_dict() const;
    // Checks every entry first (missing and unexpected keys when strict, and always
    // shape and dtype), throws one mg::Error listing each problem by name, and only
    // then copies: a failed load leaves the module untouched. Values are copied into
    // the module's own tensors (across devices if need be).
    LoadResult load_state_dict(const StateDict& state, bool strict = true);

    // ---- modes and housekeeping ------------------------------------------------------------
    Module& train(bool on = true);  // recursive; BatchNorm and Dropout read it
    Module& eval() { return train(false); }
    bool is_training() const { return training_; }
    void zero_grad();  // drops every parameter's .grad (PyTorch's set_to_none)
    // Move or cast every parameter and buffer in place: the TensorImpl behind each
    // handle is re-pointed at the new storage, so handles held elsewhere (members,
    // an optimizer's parameter list) follow. Gradients move too. to(DType) casts
    // floating tensors only (num_batches_tracked stays int64). Views taken of a
    // parameter before the move keep the old storage; call between steps.
    Module& to(Device device);
    Module& to(DType dtype);
    // Sets each tensor's name (for graph exports and anomaly messages) to prefix +
    // its dotted name; register_module does this for children. Call it on a root
    // to give its tensors a prefix: generator->name_parameters("G.").
    void name_parameters(const std::string& prefix = "");

    // ---- printing ---------------------------------------------------------------------------
    // PyTorch's printout: "Linear(in_features=2, out_features=3, bias=True)", and for
    // modules with children one "(name): child" line each, indented.
    std::string repr() const;
    virtual std::string extra_repr() const { return ""; }
    // The class name without namespaces ("Linear", "Generator").
    virtual std::string type_name() const;

private:
    struct Buffer {
        std::string name;
        Tensor tensor;
        bool persistent = true;
    };
    void add_child(const std::string& name, std::shared_ptr<Module> module);
    void check_new_name(const std::string& name, const char* what) const;
    // Visits (dotted name, tensor) of every parameter, then every buffer, of this
    // module and then of each child, without removing duplicates.
    void collect(const std::string& prefix, bool recurse, bool params, bool bufs, bool only_persistent,
                 std::vector<NamedTensor>& out) const;
    template <class Move> void move_all(Move&& move);

    std::vector<NamedTensor> params_;
    std::vector<Buffer> buffers_;
    std::vector<NamedModule> children_;
    bool training_ = true;
};

}  // namespace mg::nn
