#include "core/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <typeinfo>
#include <unordered_set>

#include "core/autograd.h"

namespace mg::nn {

namespace {

// Keeps the first (name, tensor) for each distinct TensorImpl.
std::vector<NamedTensor> unique(std::vector<NamedTensor> all) {
    std::unordered_set<const TensorImpl*> seen;
    std::vector<NamedTensor> out;
    for (NamedTensor& nt : all)
        if (seen.insert(nt.second.impl()).second) out.push_back(std::move(nt));
    return out;
}

std::vector<Tensor> tensors_of(const std::vector<NamedTensor>& named) {
    std::vector<Tensor> out;
    out.reserve(named.size());
    for (const NamedTensor& nt : named) out.push_back(nt.second);
    return out;
}

// Re-points the TensorImpl behind `t` at the data of `moved`, so that every handle
// to `t` sees the moved tensor. Autograd fields (requires_grad, name, hooks) stay.
void rebind(const Tensor& t, const Tensor& moved) {
    TensorImpl& impl = *t.impl();
    const TensorImpl& m = *moved.impl();
    impl.storage = m.storage;
    impl.offset = m.offset;
    impl.shape = m.shape;
    impl.strides = m.strides;
    impl.dtype = m.dtype;
}

// PyTorch's _addindent: indents every line but the first.
std::string indent_tail(const std::string& s, int spaces) {
    std::string out, pad(size_t(spaces), ' ');
    for (char c : s) {
        out += c;
        if (c == '\n') out += pad;
    }
    return out;
}

std::string describe(const Tensor& t) { return fmt::format("{} {}", t.dtype(), t.shape()); }

}  // namespace

// ---- computing -----------------------------------------------------------------------
Tensor Module::forward(const Tensor&) {
    MG_FAIL("{}: forward(x) is not implemented (override Module::forward, or call the module's own methods)",
            type_name());
}

// ---- registering ------------------------------------------------------------------------
void Module::check_new_name(const std::string& name, const char* what) const {
    MG_CHECK(!name.empty() && name.find('.') == std::string::npos,
             "{}: {} name '{}' must be non-empty and contain no '.'", type_name(), what, name);
    bool taken = false;
    for (const NamedTensor& p : params_) taken |= p.first == name;
    for (const Buffer& b : buffers_) taken |= b.name == name;
    for (const NamedModule& c : children_) taken |= c.first == name;
    MG_CHECK(!taken, "{}: cannot register {} '{}': the name is already taken", type_name(), what, name);
}

Tensor Module::register_parameter(const std::string& name, const Tensor& tensor, bool requires_grad) {
    check_new_name(name, "parameter");
    if (!tensor.defined()) return tensor;
    MG_CHECK(is_floating(tensor.dtype()), "{}: parameter '{}' must be a floating tensor, got {}", type_name(), name,
             tensor.dtype());
    MG_CHECK(tensor.is_leaf(), "{}: parameter '{}' must be a leaf tensor (detach() it first)", type_name(), name);
    tensor.requires_grad_(requires_grad);
    tensor.set_name(name);
    params_.emplace_back(name, tensor);
    return tensor;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& tensor, bool persistent) {
    check_new_name(name, "buffer");
    if (!tensor.defined()) return tensor;
    tensor.set_name(name);
    buffers_.push_back({name, tensor, persistent});
    return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    check_new_name(name, "module");
    MG_CHECK(module != nullptr, "{}: cannot register module '{}': it is null", type_name(), name);
    for (auto& [sub_name, sub] : module->named_modules())
        MG_CHECK(sub != this, "{}: cannot register module '{}': it contains this module (a cycle)", type_name(), name);
    module->name_parameters(name + ".");
    children_.emplace_back(name, std::move(module));
}

// ---- walking ---------------------------------------------------------------------------------
void Module::collect(const std::string& prefix, bool recurse, bool params, bool bufs, bool only_persistent,
                     std::vector<NamedTensor>& out) const {
    if (params)
        for (const NamedTensor& p : params_) out.emplace_back(prefix + p.first, p.second);
    if (bufs)
        for (const Buffer& b : buffers_)
            if (b.persistent || !only_persistent) out.emplace_back(prefix + b.name, b.tensor);
    if (recurse)
        for (const NamedModule& c : children_)
            c.second->collect(prefix + c.first + ".", true, params, bufs, only_persistent, out);
}

std::vector<NamedTensor> Module::named_parameters(bool recurse) const {
    std::vector<NamedTensor> all;
    collect("", recurse, true, false, false, all);
    return unique(std::move(all));
}
std::vector<Tensor> Module::parameters(bool recurse) const { return tensors_of(named_parameters(recurse)); }

std::vector<NamedTensor> Module::named_buffers(bool recurse) const {
    std::vector<NamedTensor> all;
    collect("", recurse, false, true, false, all);
    return unique(std::move(all));
}
std::vector<Tensor> Module::buffers(bool recurse) const { return tensors_of(named_buffers(recurse)); }

std::vector<NamedModule> Module::named_children() const { return children_; }
std::vector<std::shared_ptr<Module>> Module::children() const {
    std::vector<std::shared_ptr<Module>> out;
    for (const NamedModule& c : children_) out.push_back(c.second);
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
    std::vector<std::pair<std::string, Module*>> out{{"", this}};
    for (NamedModule& c : children_)
        for (auto& [name, m] : c.second->named_modules())
            out.emplace_back(name.empty() ? c.first : c.first + "." + name, m);
    return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
    for (NamedModule& c : children_) c.second->apply(fn);
    fn(*this);
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (const Tensor& p : parameters()) n += p.numel();
    return n;
}

// ---- state ------------------------------------------------------------------------------------
StateDict Module::state_dict() const {
    std::vector<NamedTensor> all;
    collect("", true, true, true, true, all);
    StateDict sd;
    for (const NamedTensor& nt : all) sd.insert(nt.first, nt.second.detach());
    return sd;
}

LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
    std::vector<NamedTensor> own;
    collect("", true, true, true, true, own);

    LoadResult result;
    std::vector<std::string> problems;  // everything that makes the load fail
    std::unordered_set<std::string> own_names;
    for (const auto& [name, target] : own) {
        own_names.insert(name);
        const Tensor* src = state.find(name);
        if (src == nullptr) {
            result.missing_keys.push_back(name);
            if (strict) problems.push_back(fmt::format("missing key '{}' ({})", name, describe(target)));
            continue;
        }
        if (!(src->shape() == target.shape()))
            problems.push_back(fmt::format("'{}': shape {} in the state dict, {} in the module", name, src->shape(),
                                           target.shape()));
        if (src->dtype() != target.dtype())
            problems.push_back(fmt::format("'{}': dtype {} in the state dict, {} in the module", name, src->dtype(),
                                           target.dtype()));
    }
    for (const auto& [name, src] : state)
        if (!own_names.count(name)) {
            result.unexpected_keys.push_back(name);
            if (strict) problems.push_back(fmt::format("unexpected key '{}' ({})", name, describe(src)));
        }
    if (!problems.empty()) {
        std::string msg = fmt::format("load_state_dict: {} problem{} loading into {} (nothing was loaded):",
                                      problems.size(), problems.size() == 1 ? "" : "s", type_name());
        for (const std::string& p : problems) msg += "\n  " + p;
        MG_FAIL("{}", msg);
    }

    autograd::NoGradGuard no_grad;
    for (auto& [name, target] : own)
        if (const Tensor* src = state.find(name); src && !src->is_same(target)) Tensor(target).copy_(*src);
    return result;
}

// ---- modes and housekeeping ------------------------------------------------------------------
Module& Module::train(bool on) {
    training_ = on;
    for (NamedModule& c : children_) c.second->train(on);
    return *this;
}

void Module::zero_grad() {
    for (const Tensor& p : parameters()) p.zero_grad();
}

// Applies move(tensor) -> moved tensor (or undefined for "leave as is") to every
// distinct parameter and buffer, and to the parameters' gradients.
template <class Move> void Module::move_all(Move&& move) {
    std::vector<NamedTensor> all;
    collect("", true, true, true, false, all);
    autograd::NoGradGuard no_grad;
    for (const NamedTensor& nt : unique(std::move(all))) {
        const Tensor& t = nt.second;
        Tensor moved = move(t.detach());
        if (!moved.defined()) continue;
        rebind(t, moved);
        if (Tensor g = t.grad(); g.defined()) t.set_grad(move(g.detach()));
    }
}

Module& Module::to(Device device) {
    move_all([device](const Tensor& t) { return t.device() == device ? Tensor() : t.to(device); });
    return *this;
}

Module& Module::to(DType dtype) {
    MG_CHECK(is_floating(dtype), "{}.to: modules can be cast to floating dtypes only, not {}", type_name(), dtype);
    move_all([dtype](const Tensor& t) {
        return !is_floating(t.dtype()) || t.dtype() == dtype ? Tensor() : t.to(dtype);
    });
    return *this;
}

void Module::name_parameters(const std::string& prefix) {
    std::vector<NamedTensor> all;
    collect("", true, true, true, false, all);
    for (const NamedTensor& nt : unique(std::move(all))) nt.second.set_name(prefix + nt.first);
}

// ---- printing ---------------------------------------------------------------------------------
std::string Module::type_name() const {
    const char* mangled = typeid(*this).name();
    int status = 0;
    char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : mangled;
    std::free(demangled);
    // "mg::nn::Linear" -> "Linear"; "ns::Block<3>" -> "Block<3>".
    size_t end = name.find('<');
    size_t colon = name.rfind("::", end);
    return colon == std::string::npos ? name : name.substr(colon + 2);
}

std::string Module::repr() const {
    std::vector<std::string> lines;
    std::string extra = extra_repr();
    size_t extra_lines = 0;
    if (!extra.empty()) {
        size_t start = 0;
        for (size_t nl; (nl = extra.find('\n', start)) != std::string::npos; start = nl + 1)
            lines.push_back(extra.substr(start, nl - start));
        lines.push_back(extra.substr(start));
        extra_lines = lines.size();
    }
    for (const NamedModule& c : children_) lines.push_back("(" + c.first + "): " + indent_tail(c.second->repr(), 2));

    std::string out = type_name() + "(";
    if (extra_lines == 1 && children_.empty()) {
        out += lines[0];
    } else if (!lines.empty()) {
        out += "\n";
        for (const std::string& l : lines) out += "  " + l + "\n";
    }
    return out + ")";
}

}  // namespace mg::nn
