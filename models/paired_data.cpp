#include "models/paired_data.h"

#include <cstring>
#include <unordered_set>

#include "core/data/edges.h"
#include "core/data/fashion_mnist.h"
#include "core/data/holdout.h"
#include "core/data/transforms.h"
#include "core/io/input.h"
#include "core/ops.h"
#include "core/ops/color.h"

namespace mg::models {

namespace {

constexpr const char* kEdges = "edges:";
constexpr const char* kEmojiPair = "emoji-pair:";
constexpr const char* kLab = "lab:";
constexpr double kAbScale = 110;  // a*, b* / kAbScale in [-1, 1]: the gamut of sRGB, nearly

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// inputs: the Sobel edges of each image [N, C, S, S] -> [N, 1, S, S].
Tensor edge_maps(const Tensor& images) {
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
    Tensor edges = empty({n, 1, h, w}, {DType::UInt8});
    const uint8_t* src = images.data<uint8_t>();
    uint8_t* dst = edges.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) data::sobel_edges(src + i * c * h * w, c, h, w, dst + i * h * w);
    return edges;
}

ImageData fashion_images(const DataSpec& spec, ImageSplit split) {
    MG_CHECK(spec.image_size == 28 && spec.channels == 1,
             "--data {}: Fashion-MNIST is 1 x 28 x 28; got image size {} and {} channels", spec.images,
             spec.image_size, spec.channels);
    auto load = [](data::Split s) { return data::load_fashion_mnist(s); };
    ImageData d;
    d.classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    if (split == ImageSplit::All) {
        data::Dataset train = load(data::Split::Train), test = load(data::Split::Test);
        d.images = cat({train.images, test.images}, 0);
        d.labels = cat({train.labels, test.labels}, 0);
        return d;
    }
    data::Dataset ds = load(split == ImageSplit::Train ? data::Split::Train : data::Split::Test);
    d.images = ds.images.contiguous();
    d.labels = ds.labels;
    return d;
}

ImageData edges_data(const DataSpec& spec, const std::string& source, ImageSplit split) {
    ImageData d;
    if (source == "fashion-mnist") {
        d = fashion_images(spec, split);
    } else {
        DataSpec inner = spec;
        inner.images = source;
        d = load_image_data(inner, split);
    }
    d.images = stack_pair(edge_maps(d.images.contiguous()), d.images.contiguous(), "--data " + spec.images);
    return d;
}

// images [N, 3, S, S] uint8 RGB -> [N, 3, S, S] uint8 (L*, a*, b*) encoded as paired_data.h says.
Tensor lab_bytes(const Tensor& images, const std::string& spec) {
    const int64_t n = images.size(0);
    std::vector<Tensor> chunks;
    constexpr int64_t kChunk = 256;  // bounds the conversion's temporaries
    for (int64_t i = 0; i < n; i += kChunk) {
        Tensor rgb = mul(images.slice(0, i, std::min(n, i + kChunk)).to(DType::Float32), 1 / 255.0);
        Tensor lab = rgb_to_lab(rgb);
        Tensor l = clamp(affine(lab.slice(1, 0, 1), 2.55, 0.5), 0, 255);  // +0.5: round on the cast down
        Tensor ab = clamp(affine(lab.slice(1, 1, 3), 127.5 / kAbScale, 128.0), 0, 255);
        chunks.push_back(cat({l, ab}, 1).to(DType::UInt8));
    }
    Tensor bytes = cat(chunks, 0);
    // Grey images have a* = b* = 0, bytes 128 (127.5 rounded); allow the rounding's byte.
    const Tensor ab = bytes.slice(1, 1, 3).to(DType::Float32);
    MG_CHECK(amax(abs(sub(ab, 128.0))).item() > 1,
             "--data {}: the images are grey (a*, b* are 0 everywhere): colorization has no colour to predict",
             io::quote_short(spec));
    return bytes;
}

ImageData lab_data(const DataSpec& spec, const std::string& source, ImageSplit split) {
    MG_CHECK(spec.channels == 3, "--data {}: colorization needs colour images; 'channels' is {}",
             io::quote_short(spec.images), spec.channels);
    DataSpec inner = spec;
    inner.images = source;
    ImageData d = load_image_data(inner, split);
    d.images = lab_bytes(d.images.contiguous(), spec.images);
    return d;
}

// The pairs (i, j) of the two-vendor emoji set that `split` keeps: split by the unpaired
// set's holdout, which puts both images of a pair on one side.
ImageData emoji_pairs(const DataSpec& spec, const std::string& source, ImageSplit split) {
    DataSpec both = spec;
    both.images = source;
    data::ImageDataset ds = open_image_data_set(both);
    MG_CHECK(!ds.pairs.empty(), "--data {}: the two vendors have no emoji in common", spec.images);
    const data::PackedImages& p = ds.images;
    std::vector<int64_t> labels(size_t(p.size()));
    for (int64_t i = 0; i < p.size(); ++i) labels[size_t(i)] = p.label(i);
    std::unordered_set<int64_t> kept;
    if (split != ImageSplit::All) {
        data::HoldoutSplit s = data::holdout_split(labels, ds.pairs);
        for (int64_t i : split == ImageSplit::Train ? s.train : s.test) kept.insert(i);
    }
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (const auto& pair : ds.pairs)
        if (split == ImageSplit::All || kept.count(pair.first)) pairs.push_back(pair);
    MG_CHECK(!pairs.empty(), "--data {}: its {} split has no pairs", spec.images,
             split == ImageSplit::Train ? "training" : "held-out");
    const int64_t n = int64_t(pairs.size()), c = p.channels(), s = p.height();
    const size_t bytes = size_t(c * s * p.width());
    Tensor inputs = empty({n, c, s, p.width()}, {DType::UInt8}), targets = empty({n, c, s, p.width()}, {DType::UInt8});
    std::vector<int64_t> pair_labels;
    for (int64_t k = 0; k < n; ++k) {
        std::memcpy(inputs.data<uint8_t>() + size_t(k) * bytes, p.image(pairs[size_t(k)].first), bytes);
        std::memcpy(targets.data<uint8_t>() + size_t(k) * bytes, p.image(pairs[size_t(k)].second), bytes);
        pair_labels.push_back(labels[size_t(pairs[size_t(k)].second)]);
    }
    return {stack_pair(inputs, targets, "--data " + spec.images), from_vector(pair_labels, {n}), p.classes()};
}

}  // namespace

bool is_paired_data_spec(const std::string& spec) {
    return starts_with(spec, kEdges) || starts_with(spec, kEmojiPair) || starts_with(spec, kLab);
}

std::string paired_source(const std::string& spec) {
    if (starts_with(spec, kEdges)) {
        const std::string inner = spec.substr(6);
        MG_CHECK(inner == "fashion-mnist" || (is_image_data_spec(inner) && !is_paired_data_spec(inner)),
                 "--data {}: edges of what? expected edges:fashion-mnist or edges:IMAGES with IMAGES one of folder:DIR, "
                 "npy:FILE, emoji[:VENDOR]",
                 io::quote_short(spec));
        return inner;
    }
    if (starts_with(spec, kLab)) {
        const std::string inner = spec.substr(4);
        MG_CHECK(inner != "fashion-mnist", "--data {}: Fashion-MNIST is grey: colorization has no colour to predict",
                 io::quote_short(spec));
        MG_CHECK(is_image_data_spec(inner) && !is_paired_data_spec(inner),
                 "--data {}: lab of what? expected lab:IMAGES with IMAGES one of folder:DIR, npy:FILE, emoji[:VENDOR]",
                 io::quote_short(spec));
        return inner;
    }
    MG_CHECK(starts_with(spec, kEmojiPair), "--data {}: not a paired data set (edges:SPEC, lab:SPEC, emoji-pair:A,B)",
             io::quote_short(spec));
    const std::string vendors = spec.substr(11);
    const size_t comma = vendors.find(',');
    const std::string a = vendors.substr(0, comma), b = comma == std::string::npos ? "" : vendors.substr(comma + 1);
    auto vendor = [](const std::string& v) { return v == "google" || v == "twitter"; };
    MG_CHECK(comma != std::string::npos && vendor(a) && vendor(b) && a != b,
             "--data {}: expected emoji-pair:A,B with two different vendors, google and twitter",
             io::quote_short(spec));
    return "emoji:" + vendors;
}

int64_t paired_input_channels(const std::string& spec, int64_t channels) {
    return starts_with(spec, kEdges) || starts_with(spec, kLab) ? 1 : channels;
}

int64_t paired_target_channels(const std::string& spec, int64_t channels) {
    return starts_with(spec, kLab) ? 2 : channels;
}

Tensor paired_as_image(const std::string& spec, const Tensor& input, const Tensor& ab) {
    if (!starts_with(spec, kLab)) return ab.defined() ? ab : input;
    MG_CHECK(input.dim() == 4 && input.size(1) == 1 && (!ab.defined() || ab.size(1) == 2),
             "--data {}: expected L* [B, 1, S, S] and a*b* [B, 2, S, S], got {} and {}", io::quote_short(spec),
             input.shape(), ab.defined() ? ab.shape() : Shape{});
    const Tensor l = affine(input, 50.0, 50.0);
    const Tensor chroma = ab.defined() ? mul(ab, kAbScale) : zeros({input.size(0), 2, input.size(2), input.size(3)},
                                                                   {input.dtype(), input.device()});
    return affine(clamp(lab_to_rgb(cat({l, chroma}, 1)), 0.0, 1.0), 2.0, -1.0);
}

ImageData load_paired_image_data(const DataSpec& spec, ImageSplit split) {
    const std::string source = paired_source(spec.images);
    if (starts_with(spec.images, kEdges)) return edges_data(spec, source, split);
    if (starts_with(spec.images, kLab)) return lab_data(spec, source, split);
    return emoji_pairs(spec, source, split);
}

Tensor load_sample_pairs(const DataSpec& spec) {
    ImageData pairs;
    try {
        pairs = load_image_data(spec, ImageSplit::Test);
    } catch (const Error&) {
        pairs = load_image_data(spec, ImageSplit::Train);
    }
    return data::to_float(pairs.images, spec.range);
}

Tensor stack_pair(const Tensor& inputs, const Tensor& targets, const std::string& what) {
    MG_CHECK(inputs.dim() == 4 && targets.dim() == 4 && inputs.size(0) == targets.size(0) &&
                 inputs.size(2) == targets.size(2) && inputs.size(3) == targets.size(3),
             "{}: the inputs {} and targets {} differ in count or size; pairs need images of one size", what,
             inputs.shape(), targets.shape());
    MG_CHECK(inputs.dtype() == targets.dtype(), "{}: inputs and targets differ in dtype", what);
    return cat({inputs, targets}, 1);
}

PairedBatch split_pair(const Tensor& stacked, int64_t input_channels) {
    MG_CHECK(stacked.dim() == 4 && stacked.size(1) > input_channels && input_channels > 0,
             "paired batch {}: expected [B, C, H, W] with the input's {} channels and the target's after them",
             stacked.shape(), input_channels);
    return {stacked.slice(1, 0, input_channels), stacked.slice(1, input_channels, stacked.size(1))};
}

}  // namespace mg::models
