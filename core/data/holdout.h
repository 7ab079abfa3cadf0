// The held-out split of an image data set: which images a model trains on and which are
// kept back to test it (the classifier's accuracy, the floor of FID/KID: real images the
// generator never saw).
//
// Deterministic and stratified: within each class, in data set order, every `every`-th
// group (the 10th, 20th, ...) is held out, so each class keeps about 1/every of its images
// for testing and the same data set always splits the same way. A group is a set of images
// that must land on the same side: the same emoji drawn by two vendors, so that no test
// emoji was seen in training in the other style. Without groups every image is its own.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace mg::data {

struct HoldoutSplit {
    std::vector<int64_t> train, test;  // image indices, ascending
};

// labels[i]: image i's class. pairs: (i, j) images that form one group (j follows i).
HoldoutSplit holdout_split(std::span<const int64_t> labels, std::span<const std::pair<int64_t, int64_t>> pairs = {},
                           int64_t every = 10);

}  // namespace mg::data
