// The SIMT emulation's cub::DeviceRadixSort::SortPairs: a stable sort on the host, by the
// key bits [begin_bit, end_bit), with CUB's two-call protocol (null storage asks its size).
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "cuda_runtime_api.h"

namespace cub {

struct DeviceRadixSort {
    template <class Key, class Value>
    static cudaError_t SortPairs(void* temp_storage, size_t& temp_bytes, const Key* keys_in, Key* keys_out,
                                 const Value* values_in, Value* values_out, int n, int begin_bit = 0,
                                 int end_bit = int(sizeof(Key) * 8), cudaStream_t = nullptr) {
        if (temp_storage == nullptr) {
            temp_bytes = 1;
            return cudaSuccess;
        }
        const int bits = end_bit - begin_bit;
        const Key mask = bits >= int(sizeof(Key) * 8) ? Key(~Key(0)) : Key((Key(1) << bits) - 1);
        auto digit = [&](int i) { return Key(keys_in[i] >> begin_bit) & mask; };
        std::vector<int> order(size_t(std::max(n, 0)));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return digit(a) < digit(b); });
        std::vector<Key> keys(order.size());
        std::vector<Value> values(order.size());
        for (size_t i = 0; i < order.size(); ++i) keys[i] = keys_in[order[i]], values[i] = values_in[order[i]];
        std::copy(keys.begin(), keys.end(), keys_out);
        std::copy(values.begin(), values.end(), values_out);
        return cudaSuccess;
    }
};

}  // namespace cub
