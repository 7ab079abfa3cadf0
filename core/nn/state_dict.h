// StateDict: tensors by name, in insertion order (PyTorch's OrderedDict).
//
// Module::state_dict() fills one with the names PyTorch uses for the same module
// ("0.weight", "main.1.running_mean", "bn.num_batches_tracked"); checkpoints are
// written from it and read back into it.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace mg::nn {

class StateDict {
public:
    using Item = std::pair<std::string, Tensor>;

    // Adds a new entry; a name already present is an error.
    void insert(const std::string& name, const Tensor& tensor);
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    // The tensor stored under name; throws naming the key when absent.
    const Tensor& at(const std::string& name) const;
    // nullptr when absent.
    const Tensor* find(const std::string& name) const;
    std::vector<std::string> keys() const;

    size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    std::vector<Item>::const_iterator begin() const { return items_.begin(); }
    std::vector<Item>::const_iterator end() const { return items_.end(); }

private:
    std::vector<Item> items_;
    std::unordered_map<std::string, size_t> index_;
};

}  // namespace mg::nn
