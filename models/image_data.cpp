#include "models/image_data.h"

#include <cstring>

#include "core/data/holdout.h"
#include "core/data/image_dataset.h"
#include "core/io/input.h"
#include "models/option_keys.h"
#include "models/paired_data.h"

namespace mg::models {

bool is_image_data_spec(const std::string& spec) {
    return spec.rfind("folder:", 0) == 0 || spec.rfind("npy:", 0) == 0 || spec == "emoji" ||
           spec.rfind("emoji:", 0) == 0 || is_paired_data_spec(spec);
}

data::ImageDataset open_image_data_set(const DataSpec& spec) {
    MG_CHECK(spec.image_size > 0 && (spec.channels == 1 || spec.channels == 3),
             "image data {}: needs a size and 1 or 3 channels (got {} and {})", spec.images, spec.image_size,
             spec.channels);
    data::ImageDatasetOptions o;
    o.cache.cache_dir = data::default_image_cache_dir();
    o.cache.height = o.cache.width = spec.image_size;
    o.cache.channels = spec.channels;
    o.cache.skip_bad = spec.skip_bad;
    data::ImageDataset ds = data::open_image_dataset(spec.images, o);
    MG_CHECK(ds.images.size() > 0, "image data {}: no images", spec.images);
    return ds;
}

DataSpec ImageDataOptions::spec() const {
    return {.source = fashion() ? DataSpec::Source::FashionMnist : DataSpec::Source::Images,
            .images = fashion() ? std::string() : data,
            .image_size = image_size,
            .channels = channels,
            .skip_bad = skip_bad,
            .hflip = hflip,
            .crop = crop,
            .jitter = data::parse_color_jitter(jitter, "'jitter'")};
}

ImageDataOptions ImageDataOptions::take(nlohmann::json& options, const std::string& what, bool conditional,
                                        bool paired) {
    constexpr int64_t kFashionClasses = 10;
    ImageDataOptions o;
    const nlohmann::json known = options_to_json(o);
    read_options(o, OptionReader(what, take_option_keys(options, known), known));
    data::parse_color_jitter(o.jitter, what + ": 'jitter'");
    MG_CHECK(o.fashion() || is_image_data_spec(o.data),
             "{}: 'data' {} is not a data set (fashion-mnist, folder:DIR, npy:FILE, emoji[:VENDORS])", what,
             io::quote_short(o.data));
    MG_CHECK(o.channels != 2, "{}: 'channels' must be 1 or 3, got 2", what);
    const bool paired_data = is_paired_data_spec(o.data);
    MG_CHECK(paired || !paired_data, "{}: 'data' {} is a paired data set (input, target images): it is for pix2pix",
             what, io::quote_short(o.data));
    MG_CHECK(!paired || paired_data,
             "{}: 'data' {} is not a paired data set; this model needs input and target images: edges:SPEC "
             "(e.g. edges:fashion-mnist, edges:emoji:google) or emoji-pair:google,twitter",
             what, io::quote_short(o.data));
    // Jitter would change the two sides of a pair differently (or the edge map as if it were colour).
    MG_CHECK(!paired || o.jitter.empty(), "{}: 'jitter' {} does not apply to paired data", what,
             io::quote_short(o.jitter));
    if (o.fashion() || (paired_data && paired_source(o.data) == "fashion-mnist")) {
        MG_CHECK(o.image_size == 0 || o.image_size == 28,
                 "{}: Fashion-MNIST is 28x28; 'image_size' {} needs an image data set", what, o.image_size);
        MG_CHECK(o.channels <= 1, "{}: Fashion-MNIST is grey; 'channels' 3 needs an image data set", what);
        o.image_size = 28;
        o.channels = 1;
        if (o.classes == 0) o.classes = kFashionClasses;
    } else {
        if (o.image_size == 0) o.image_size = 64;
        if (o.channels == 0) o.channels = 3;
        if (o.classes == 0 && conditional) o.classes = int64_t(open_image_data_set(o.spec()).images.classes().size());
    }
    MG_CHECK(o.crop < o.image_size, "{}: 'crop' {} must be smaller than the image size {}", what, o.crop, o.image_size);
    return o;
}

ImageData load_image_data(const DataSpec& spec, ImageSplit split) {
    if (is_paired_data_spec(spec.images)) return load_paired_image_data(spec, split);
    data::ImageDataset ds = open_image_data_set(spec);
    const data::PackedImages& p = ds.images;
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
