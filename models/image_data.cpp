#include "models/image_data.h"

#include <cstring>

#include "core/data/holdout.h"
#include "core/data/image_dataset.h"

namespace mg::models {

bool is_image_data_spec(const std::string& spec) {
    return spec.rfind("folder:", 0) == 0 || spec.rfind("npy:", 0) == 0 || spec == "emoji" ||
           spec.rfind("emoji:", 0) == 0;
}

ImageData load_image_data(const DataSpec& spec, ImageSplit split) {
    MG_CHECK(spec.image_size > 0 && (spec.channels == 1 || spec.channels == 3),
             "image data {}: needs a size and 1 or 3 channels (got {} and {})", spec.images, spec.image_size,
             spec.channels);
    data::ImageDatasetOptions o;
    o.cache.cache_dir = data::default_image_cache_dir();
    o.cache.height = o.cache.width = spec.image_size;
    o.cache.channels = spec.channels;
    o.cache.skip_bad = spec.skip_bad;
    data::ImageDataset ds = data::open_image_dataset(spec.images, o);
    const data::PackedImages& p = ds.images;
    MG_CHECK(p.size() > 0, "image data {}: no images", spec.images);
    std::vector<int64_t> all_labels(size_t(p.size()));
    for (int64_t i = 0; i < p.size(); ++i) all_labels[size_t(i)] = p.label(i);
    std::vector<int64_t> keep;
    if (split == ImageSplit::All) {
        for (int64_t i = 0; i < p.size(); ++i) keep.push_back(i);
    } else {
        data::HoldoutSplit s = data::holdout_split(all_labels, ds.pairs);
        keep = split == ImageSplit::Train ? std::move(s.train) : std::move(s.test);
        MG_CHECK(!keep.empty(), "image data {}: its {} split is empty ({} images; every 10th image of a class is "
                 "held out for testing)", spec.images, split == ImageSplit::Train ? "training" : "held-out", p.size());
    }
    ImageData d;
    const int64_t n = int64_t(keep.size()), c = p.channels(), h = p.height(), w = p.width();
    const size_t bytes = size_t(c * h * w);
    d.images = empty({n, c, h, w}, {DType::UInt8});
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
        const int64_t i = keep[size_t(k)];
        std::memcpy(d.images.data<uint8_t>() + size_t(k) * bytes, p.pixels() + size_t(i) * bytes, bytes);
        labels[size_t(k)] = all_labels[size_t(i)];
    }
    d.labels = from_vector(labels, {n});
    d.classes = p.classes();
    return d;
}

}  // namespace mg::models
