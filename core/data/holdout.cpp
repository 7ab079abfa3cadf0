#include "core/data/holdout.h"

#include <algorithm>
#include <map>

#include "kernels/base.h"

namespace mg::data {

HoldoutSplit holdout_split(std::span<const int64_t> labels, std::span<const std::pair<int64_t, int64_t>> pairs,
                           int64_t every) {
    MG_CHECK(every >= 2, "holdout_split: every must be at least 2, got {}", every);
    const auto n = int64_t(labels.size());
    std::vector<int64_t> leader(labels.size());  // the first image of each image's group
    for (int64_t i = 0; i < n; ++i) leader[size_t(i)] = i;
    for (auto [i, j] : pairs) {
        MG_CHECK(i >= 0 && i < n && j >= 0 && j < n, "holdout_split: pair ({}, {}) outside {} images", i, j, n);
        leader[size_t(std::max(i, j))] = leader[size_t(std::min(i, j))];
    }
    std::map<int64_t, int64_t> groups_seen;  // class -> groups met so far
    std::vector<char> held(labels.size(), 0);
    HoldoutSplit s;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t lead = leader[size_t(i)];
        if (lead == i) held[size_t(i)] = ++groups_seen[labels[size_t(i)]] % every == 0;
        else held[size_t(i)] = held[size_t(lead)];
        (held[size_t(i)] ? s.test : s.train).push_back(i);
    }
    return s;
}

}  // namespace mg::data
