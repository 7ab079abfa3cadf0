#include "optim/optimizer.h"

#include <charconv>
#include <cmath>
#include <set>

#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/profile.h"

namespace mg::optim {

double ParamGroup::option(const std::string& name) const {
    auto it = options.find(name);
    MG_CHECK(it != options.end(), "optimizer: parameter group has no option '{}'", name);
    return it->second;
}

void check_nonnegative(const std::string& optimizer, const std::string& what, double value) {
    MG_CHECK(value >= 0.0 && std::isfinite(value), "{}: {} must be finite and >= 0, got {}", optimizer, what, value);
}
void check_unit_interval(const std::string& optimizer, const std::string& what, double value) {
    MG_CHECK(value >= 0.0 && value < 1.0, "{}: {} must be in [0, 1), got {}", optimizer, what, value);
}
void check_flag(const std::string& optimizer, const std::string& what, double value) {
    MG_CHECK(value == 0.0 || value == 1.0, "{}: {} is a flag and must be 0 or 1, got {}", optimizer, what, value);
}

Optimizer::Optimizer(std::string name, double default_lr, Options defaults)
    : name_(std::move(name)), default_lr_(default_lr), defaults_(std::move(defaults)) {
    check_nonnegative(name_, "lr", default_lr_);
}

void Optimizer::add_param_group(ParamGroup group) {
    if (std::isnan(group.lr)) group.lr = default_lr_;
    check_nonnegative(name_, "lr", group.lr);
    for (const auto& [key, value] : group.options) {
        if (defaults_.count(key)) continue;
        std::string known;
        for (const auto& [k, v] : defaults_) known += (known.empty() ? "" : ", ") + k;
        MG_FAIL("{}: unknown option '{}' in a parameter group (known: lr, {})", name_, key, known);
    }
    for (const auto& [key, value] : defaults_) group.options.emplace(key, value);  // keeps overrides
    check_group(group);

    for (size_t k = 0; k < group.params.size(); ++k) {
        const Tensor& p = group.params[k];
        MG_CHECK(p.defined(), "{}: parameter {} of the new group is undefined", name_, k);
        MG_CHECK(is_floating(p.dtype()), "{}: can only optimize floating tensors, parameter {} {} has dtype {}",
                 name_, k, p.shape(), p.dtype());
        for (const ParamGroup& g : groups_)
            for (const Tensor& q : g.params)
                MG_CHECK(!q.is_same(p), "{}: parameter {} {} is already in another parameter group", name_, k,
                         p.shape());
        for (size_t j = 0; j < k; ++j)
            MG_CHECK(!group.params[j].is_same(p), "{}: parameter {} {} appears twice in one group", name_, k,
                     p.shape());
    }
    states_.resize(states_.size() + group.params.size());
    groups_.push_back(std::move(group));
}

const ParamState& Optimizer::state(int64_t index) const {
    MG_CHECK(index >= 0 && index < num_params(), "{}: no parameter {} (the optimizer has {})", name_, index,
             num_params());
    return states_[size_t(index)];
}

Tensor& Optimizer::buffer(ParamState& state, const std::string& name, const Tensor& param) {
    auto it = state.buffers.find(name);
    if (it == state.buffers.end()) it = state.buffers.emplace(name, zeros_like(param)).first;
    return it->second;
}

void Optimizer::step() {
    kernels::profile::Scope profiled(kernels::profile::Region::Optimizer, "optimizer step");
    autograd::NoGradGuard no_grad;
    // Every gradient is checked before any parameter changes: a bad one fails the whole step.
    std::vector<Tensor> grads;
    for (const ParamGroup& group : groups_) {
        for (const Tensor& p : group.params) {
            Tensor g = p.grad();
            if (g.defined()) {
                MG_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(),
                         "{}: parameter {} is {} {} on {}, its gradient {} {} on {}", name_, grads.size(), p.shape(),
                         p.dtype(), p.device(), g.shape(), g.dtype(), g.device());
                if (g.requires_grad()) g = g.detach();  // a gradient kept with create_graph
            }
            grads.push_back(g);
        }
    }
    if (shard_world_) return sharded_step(grads);
    if (gradient_hook_) gradient_hook_(grads);
    size_t index = 0;
    for (const ParamGroup& group : groups_) {
        std::vector<ParamUpdate> updates;
        for (const Tensor& p : group.params) {
            ParamState& st = states_[index];
            const Tensor& g = grads[index++];
            if (!g.defined()) continue;
            ++st.step;
            updates.push_back({p, g, &st});
        }
        if (!updates.empty()) update_group(group, updates);
    }
}

void Optimizer::update_group(const ParamGroup& group, const std::vector<ParamUpdate>& updates) {
    for (const ParamUpdate& u : updates) update(u.param, u.grad, *u.state, group);
}

void Optimizer::zero_grad() {
    for (const ParamGroup& group : groups_)
        for (const Tensor& p : group.params) p.zero_grad();
}

// ---- state_dict -----------------------------------------------------------------------
StateDict Optimizer::state_dict() const {
    StateDict out;
    int64_t index = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        const ParamGroup& group = groups_[g];
        std::vector<int64_t> indices;
        for (size_t k = 0; k < group.params.size(); ++k) indices.push_back(index++);
        std::string prefix = fmt::format("group.{}.", g);
        out[prefix + "params"] = from_vector(indices, Shape{int64_t(indices.size())});
        out[prefix + "lr"] = scalar_tensor(group.lr, {DType::Float64});
        for (const auto& [key, value] : group.options) out[prefix + key] = scalar_tensor(value, {DType::Float64});
    }
    for (size_t i = 0; i < states_.size(); ++i) {
        const ParamState& st = states_[i];
        if (st.step == 0 && st.buffers.empty()) continue;
        std::string prefix = fmt::format("state.{}.", i);
        out[prefix + "step"] = from_vector(std::vector<int64_t>{st.step}, Shape{});
        for (const auto& [key, buf] : st.buffers) out[prefix + key] = buf.detach();
    }
    return out;
}

namespace {

// "group.12.lr" -> {"group", 12, "lr"}; false if the key does not have that form.
bool split_key(const std::string& key, std::string& section, int64_t& index, std::string& field) {
    size_t dot1 = key.find('.');
    if (dot1 == std::string::npos) return false;
    size_t dot2 = key.find('.', dot1 + 1);
    if (dot2 == std::string::npos || dot2 + 1 >= key.size() || dot2 == dot1 + 1) return false;
    section = key.substr(0, dot1);
    const char* first = key.data() + dot1 + 1;
    const char* last = key.data() + dot2;
    if (*first == '0' && last - first > 1) return false;  // one spelling per number
    auto [end, ec] = std::from_chars(first, last, index);
    if (ec != std::errc() || end != last || index < 0) return false;
    field = key.substr(dot2 + 1);
    return true;
}

double scalar_value(const std::string& optimizer, const std::string& key, const Tensor& t) {
    MG_CHECK(t.defined() && t.numel() == 1, "{}: load_state_dict: '{}' must hold one value, got shape {}", optimizer,
             key, t.defined() ? t.shape().str() : "undefined");
    return t.item();
}

}  // namespace

void Optimizer::load_state_dict(const StateDict& dict) {
    const std::string op = name_ + ": load_state_dict";
    // 1. Sort the keys into groups and states; refuse anything unknown.
    std::map<int64_t, std::map<std::string, Tensor>> group_entries, state_entries;
    for (const auto& [key, value] : dict) {
        std::string section, field;
        int64_t index = 0;
        MG_CHECK(split_key(key, section, index, field) && (section == "group" || section == "state"),
                 "{}: unexpected key '{}' (expected group.<g>.<name> or state.<i>.<name>)", op, key);
        MG_CHECK(value.defined(), "{}: '{}' is an undefined tensor", op, key);
        (section == "group" ? group_entries : state_entries)[index][field] = value;
    }

    // 2. Groups: same count, same parameters, every option present and valid.
    MG_CHECK(int64_t(group_entries.size()) == int64_t(groups_.size()) &&
                 (group_entries.empty() || group_entries.rbegin()->first == int64_t(groups_.size()) - 1),
             "{}: the dict has {} parameter groups, this optimizer has {}", op, group_entries.size(), groups_.size());
    std::vector<ParamGroup> new_groups;
    int64_t index = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        auto& entries = group_entries[int64_t(g)];
        ParamGroup loaded;
        loaded.params = groups_[g].params;
        auto take = [&](const std::string& field) {
            auto it = entries.find(field);
            MG_CHECK(it != entries.end(), "{}: group {} has no '{}' (a dict of another optimizer?)", op, g, field);
            double v = scalar_value(name_, fmt::format("group.{}.{}", g, field), it->second);
            entries.erase(it);
            return v;
        };
        auto params_it = entries.find("params");
        MG_CHECK(params_it != entries.end(), "{}: group {} has no 'params'", op, g);
        const Tensor& ids = params_it->second;
        MG_CHECK(ids.dtype() == DType::Int64 && ids.dim() == 1 && ids.size(0) == int64_t(loaded.params.size()),
                 "{}: group {} holds {} parameters here, the dict's group.{}.params is {} {}", op, g,
                 loaded.params.size(), g, ids.dtype(), ids.shape());
        std::vector<int64_t> id_values = ids.to_vector<int64_t>();
        for (size_t k = 0; k < id_values.size(); ++k)
            MG_CHECK(id_values[k] == index + int64_t(k), "{}: group.{}.params[{}] is {}, expected {}", op, g, k,
                     id_values[k], index + int64_t(k));
        index += int64_t(id_values.size());
        entries.erase(params_it);
        loaded.lr = take("lr");
        check_nonnegative(name_, "lr", loaded.lr);
        for (const auto& [key, def] : defaults_) loaded.options[key] = take(key);
        MG_CHECK(entries.empty(), "{}: group {} has an option '{}' that {} does not know", op, g,
                 entries.begin()->first, name_);
        check_group(loaded);
        new_groups.push_back(std::move(loaded));
    }

    // 3. States: known parameters, exactly the buffers their group needs, matching shapes.
    std::vector<size_t> group_of;  // parameter index -> group index
    std::vector<Tensor> flat_params;
    for (size_t g = 0; g < new_groups.size(); ++g)
        for (const Tensor& p : new_groups[g].params) {
            group_of.push_back(g);
            flat_params.push_back(p);
        }
    std::vector<ParamState> new_states(states_.size());
    for (auto& [i, entries] : state_entries) {
        MG_CHECK(i < num_params(), "{}: state.{} but the optimizer has {} parameters", op, i, num_params());
        const size_t g = group_of[size_t(i)];
        const Tensor& param = flat_params[size_t(i)];
        ParamState st;
        auto step_it = entries.find("step");
        MG_CHECK(step_it != entries.end(), "{}: state.{} has no 'step'", op, i);
        const Tensor& step_t = step_it->second;
        MG_CHECK(step_t.numel() == 1 && step_t.dtype() == DType::Int64, "{}: state.{}.step must be one int64, got {} {}",
                 op, i, step_t.dtype(), step_t.shape());
        st.step = step_t.to_vector<int64_t>()[0];
        MG_CHECK(st.step >= 0, "{}: state.{}.step is negative ({})", op, i, st.step);
        entries.erase(step_it);
        std::vector<std::string> expected = buffer_names(new_groups[g]);
        for (const std::string& name : expected) {
            auto it = entries.find(name);
            MG_CHECK(it != entries.end(), "{}: state.{} has no '{}' (group {} needs it)", op, i, name, g);
            const Tensor& b = it->second;
            MG_CHECK(b.shape() == param.shape() && b.dtype() == param.dtype(),
                     "{}: state.{}.{} is {} {}, the parameter is {} {}", op, i, name, b.shape(), b.dtype(),
                     param.shape(), param.dtype());
            st.buffers[name] = it->second;
            entries.erase(it);
        }
        MG_CHECK(entries.empty(), "{}: state.{} has a buffer '{}' that group {} of {} does not use", op, i,
                 entries.begin()->first, g, name_);
        new_states[size_t(i)] = std::move(st);
    }

    // 4. Everything checked: copy (clones on each parameter's device, never aliases of the dict).
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < new_states.size(); ++i)
        for (auto& [name, b] : new_states[i].buffers) {
            Tensor copy = empty_like(flat_params[i]);
            copy.copy_(b);
            b = copy;
        }
    for (size_t g = 0; g < groups_.size(); ++g) {
        groups_[g].lr = new_groups[g].lr;
        groups_[g].options = new_groups[g].options;
    }
    states_ = std::move(new_states);
}

}  // namespace mg::optim
