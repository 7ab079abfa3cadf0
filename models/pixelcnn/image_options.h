// The image data options of the PixelCNN family (models/image_data.h) beside the family's
// own: "channels" is the images' (1 or 3, as for every image model), "width" the network's.
// Checkpoints written before the family took image data named the width "channels" (64 by
// default): a "channels" above 3 without a "width" is read as that width.
#pragma once

#include <string>

#include "models/image_data.h"

namespace mg::models::pixelcnn {

// Takes the image options out of `options` (an old width-as-"channels" becomes "width").
// Errors open with `what`.
ImageDataOptions take_image_options(nlohmann::json& options, const std::string& what, bool conditional);

// The model's config: its own options plus its images'.
nlohmann::json config_with_images(nlohmann::json own, const ImageDataOptions& images);

// Checks float images [N, colours, H, W] (and H x W == size x size when size > 0); errors
// name `what` and the shape expected.
void check_image_batch(const std::string& what, const Tensor& images, int64_t colours, int64_t size = 0);

}  // namespace mg::models::pixelcnn
