#include "models/image_data.h"

#include <cstring>

#include "core/data/image_dataset.h"

namespace mg::models {

bool is_image_data_spec(const std::string& spec) {
    return spec.rfind("folder:", 0) == 0 || spec.rfind("npy:", 0) == 0 || spec == "emoji" ||
           spec.rfind("emoji:", 0) == 0;
}

ImageData load_image_data(const DataSpec& spec) {
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
    ImageData d;
    const int64_t n = p.size(), c = p.channels(), h = p.height(), w = p.width();
    d.images = empty({n, c, h, w}, {DType::UInt8});
    std::memcpy(d.images.data<uint8_t>(), p.pixels(), size_t(n * c * h * w));
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = p.label(i);
    d.labels = from_vector(labels, {n});
    d.classes = p.classes();
    return d;
}

}  // namespace mg::models
