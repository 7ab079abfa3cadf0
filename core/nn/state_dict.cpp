#include "core/nn/state_dict.h"

namespace mg::nn {

void StateDict::insert(const std::string& name, const Tensor& tensor) {
    MG_CHECK(!contains(name), "StateDict: duplicate key '{}'", name);
    MG_CHECK(tensor.defined(), "StateDict: tensor '{}' is undefined", name);
    index_.emplace(name, items_.size());
    items_.emplace_back(name, tensor);
}

const Tensor* StateDict::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &items_[it->second].second;
}

const Tensor& StateDict::at(const std::string& name) const {
    const Tensor* t = find(name);
    MG_CHECK(t != nullptr, "StateDict: no key '{}' (it has {} keys)", name, items_.size());
    return *t;
}

std::vector<std::string> StateDict::keys() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const Item& item : items_) out.push_back(item.first);
    return out;
}

}  // namespace mg::nn
