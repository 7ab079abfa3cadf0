#include "models/pixelcnn/image_options.h"

#include "models/options.h"

namespace mg::models::pixelcnn {

namespace {

bool names_image_data(const nlohmann::json& options) {
    return options.contains("data") && options["data"].is_string() &&
           is_image_data_spec(options["data"].get<std::string>());
}

}  // namespace

ImageDataOptions take_image_options(nlohmann::json& options, const std::string& what, bool conditional) {
    const bool image_form = names_image_data(options);
    nlohmann::json width;  // the network's width, if given
    if (image_form && options.contains("channels") && options["channels"].is_number() && options["channels"] > 3)
        MG_FAIL("{}: 'channels' {} is the images' (1 or 3) on an image data set; give the network's width as "
                "'width'", what, options["channels"].dump());
    if (!image_form && options.contains("channels")) {
        width = options["channels"];
        options.erase("channels");
    }
    if (options.contains("width")) {
        MG_CHECK(width.is_null(), "{}: give the network's width as 'width' or 'channels', not both", what);
        width = options["width"];
        options.erase("width");
    }
    ImageDataOptions images = ImageDataOptions::take(options, what, conditional);
    if (!width.is_null()) options["channels"] = width;
    return images;
}

nlohmann::json config_with_images(nlohmann::json own, const ImageDataOptions& images, bool conditional) {
    nlohmann::json none = nlohmann::json::object();
    nlohmann::json mine = options_to_json(images);
    const nlohmann::json fashion = options_to_json(ImageDataOptions::take(none, "", conditional));
    if (mine == fashion) return own;
    if (images.fashion()) {
        mine.erase("channels");  // 1; "channels" stays the width
    } else {
        own["width"] = own["channels"];
        own.erase("channels");
    }
    own.update(mine);
    return own;
}

void check_image_batch(const std::string& what, const Tensor& images, int64_t colours, int64_t size) {
    const bool ok = images.defined() && images.dim() == 4 && images.size(1) == colours &&
                    is_floating(images.dtype()) && images.size(2) > 0 && images.size(3) > 0 &&
                    (size == 0 || (images.size(2) == size && images.size(3) == size));
    if (ok) return;
    const Shape got = images.defined() ? images.shape() : Shape{};
    if (size > 0) MG_FAIL("{}: expected float images [N, {}, {}, {}] in [0, 1], got {}", what, colours, size, size, got);
    MG_FAIL("{}: expected float images [N, {}, H, W] in [0, 1], got {}", what, colours, got);
}

}  // namespace mg::models::pixelcnn
