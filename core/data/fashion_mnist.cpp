// Fashion-MNIST: finding the files, reading them, checking what was read.
#include "core/data/fashion_mnist.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/data/idx.h"

namespace mg::data {
namespace {

namespace fs = std::filesystem;

const char* kInstallHint =
    "install it with `apt-get install dataset-fashion-mnist`, or pass --data DIR / set MINIGEN_DATA to a directory "
    "holding the four IDX files";

// Where the directory came from, for error messages.
struct Resolved {
    std::string dir;
    std::string source;
};

Resolved resolve_dir(const std::optional<std::string>& dir) {
    if (dir && !dir->empty()) return {*dir, "--data"};
    if (const char* env = std::getenv("MINIGEN_DATA"); env && *env) return {env, "MINIGEN_DATA"};
    return {std::string(kFashionMnistDefaultDir), "the default location"};
}

// <dir>/<name>.gz, else <dir>/<name>; an error saying what to install when neither is there.
std::string find_file(const Resolved& where, const std::string& name) {
    std::error_code ec;
    for (const std::string& candidate : {name + ".gz", name}) {
        fs::path p = fs::path(where.dir) / candidate;
        if (fs::exists(p, ec)) return p.string();  // the reader refuses what is not a regular file, naming it
    }
    if (!fs::is_directory(where.dir, ec))
        MG_FAIL("fashion-mnist: directory '{}' (from {}) does not exist; {}", where.dir, where.source, kInstallHint);
    MG_FAIL("fashion-mnist: '{}.gz' not found in '{}' (from {}); {}", name, where.dir, where.source, kInstallHint);
}

}  // namespace

Split parse_split(std::string_view name) {
    if (name == "train") return Split::Train;
    if (name == "test") return Split::Test;
    MG_FAIL("fashion-mnist: unknown split '{}', expected 'train' or 'test'", name);
}

std::string_view split_name(Split split) { return split == Split::Train ? "train" : "test"; }

const std::array<std::string_view, 10>& fashion_mnist_classes() {
    static const std::array<std::string_view, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

std::string fashion_mnist_dir(const std::optional<std::string>& dir) { return resolve_dir(dir).dir; }

Dataset load_fashion_mnist(Split split, const std::optional<std::string>& dir) {
    const Resolved where = resolve_dir(dir);
    const std::string prefix = split == Split::Train ? "train" : "t10k";
    const int64_t expected = split == Split::Train ? kFashionMnistTrainSize : kFashionMnistTestSize;

    const std::string images_path = find_file(where, prefix + "-images-idx3-ubyte");
    const std::string labels_path = find_file(where, prefix + "-labels-idx1-ubyte");
    // The counts and the image size are checked on each header, before its data is read.
    Tensor images = read_idx_uint8(images_path, 3, [&](const std::vector<int64_t>& dims) {  // [N, 28, 28]
        MG_CHECK(dims[1] == 28 && dims[2] == 28, "fashion-mnist: '{}' holds {}x{} images, expected 28x28",
                 images_path, dims[1], dims[2]);
        MG_CHECK(dims[0] == expected, "fashion-mnist: '{}' holds {} images, the {} split has {}", images_path,
                 dims[0], split_name(split), expected);
    });
    Tensor labels8 = read_idx_uint8(labels_path, 1, [&](const std::vector<int64_t>& dims) {  // [N]
        MG_CHECK(dims[0] == expected, "fashion-mnist: '{}' holds {} labels, the {} split has {}", labels_path, dims[0],
                 split_name(split), expected);
    });

    Dataset out;
    out.images = images.view(Shape{images.size(0), 1, 28, 28});
    out.labels = empty(Shape{labels8.size(0)}, {DType::Int64});
    const uint8_t* src = labels8.data<uint8_t>();
    int64_t* dst = out.labels.data<int64_t>();
    for (int64_t i = 0; i < labels8.size(0); ++i) {
        MG_CHECK(src[i] < 10, "fashion-mnist: '{}': label {} at index {} (offset {}) is not a class index in [0, 10)",
                 labels_path, int(src[i]), i, 8 + i);
        dst[i] = src[i];
    }
    return out;
}

}  // namespace mg::data
