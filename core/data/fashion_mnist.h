// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 28x28 grey images of clothing, 10 classes,
// 60,000 training and 10,000 test examples, in IDX files (core/data/idx.h).
//
// Where the files are looked for, first match wins:
//   1. the directory passed in (the CLI's --data DIR)
//   2. the environment variable MINIGEN_DATA
//   3. /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist)
// Each file is read as <name>.gz, or as <name> when only the uncompressed one is there.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace mg::data {

enum class Split { Train, Test };

Split parse_split(std::string_view name);  // "train" | "test"
std::string_view split_name(Split split);

struct Dataset {
    Tensor images;  // uint8 [N, 1, 28, 28], 0 = background
    Tensor labels;  // int64 [N], class index in [0, 10)
    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

constexpr std::string_view kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";
constexpr int64_t kFashionMnistTrainSize = 60000, kFashionMnistTestSize = 10000;

// The class names, index = label.
const std::array<std::string_view, 10>& fashion_mnist_classes();

// The directory the files will be read from, by the order above.
std::string fashion_mnist_dir(const std::optional<std::string>& dir = std::nullopt);

// Loads one split; checks the counts (60,000 / 10,000), the image size, that images and
// labels agree in count, and that every label is a class index.
Dataset load_fashion_mnist(Split split, const std::optional<std::string>& dir = std::nullopt);
inline Dataset load_fashion_mnist(std::string_view split, const std::optional<std::string>& dir = std::nullopt) {
    return load_fashion_mnist(parse_split(split), dir);
}

}  // namespace mg::data
