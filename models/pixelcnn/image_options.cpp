#include "models/pixelcnn/image_options.h"

#include "models/options.h"

namespace mg::models::pixelcnn {

ImageDataOptions take_image_options(nlohmann::json& options, const std::string& what, bool conditional) {
    if (options.contains("channels") && options["channels"].is_number_integer() && options["channels"] > 3 &&
        !options.contains("width")) {
        options["width"] = options["channels"];  // an old checkpoint's width
        options.erase("channels");
    }
    return ImageDataOptions::take(options, what, conditional);
}

nlohmann::json config_with_images(nlohmann::json own, const ImageDataOptions& images) {
    own.update(options_to_json(images));
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
