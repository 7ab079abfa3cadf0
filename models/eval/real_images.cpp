#include "models/eval/real_images.h"

#include "core/data/fashion_mnist.h"
#include "models/image_data.h"

namespace mg::eval {

std::string data_name(const models::DataSpec& spec) {
    return spec.source == models::DataSpec::Source::Images ? spec.images : "fashion-mnist";
}

RealImages load_real_images(const models::DataSpec& spec, RealSplit split,
                            const std::optional<std::string>& data_dir) {
    MG_CHECK(spec.source != models::DataSpec::Source::Toy2d, "eval: the 2-D toy data has no images");
    RealImages r;
    r.data = data_name(spec);
    if (spec.source == models::DataSpec::Source::Images) {
        models::ImageData d = models::load_image_data(
            spec, split == RealSplit::HeldOut ? models::ImageSplit::Test : models::ImageSplit::Train);
        r.images = d.images;
        r.labels = d.labels;
        r.classes = d.classes;
        return r;
    }
    data::Dataset d = data::load_fashion_mnist(split == RealSplit::HeldOut ? data::Split::Test : data::Split::Train,
                                               data_dir);
    r.images = d.images;
    r.labels = d.labels;
    for (std::string_view name : data::fashion_mnist_classes()) r.classes.emplace_back(name);
    return r;
}

}  // namespace mg::eval
