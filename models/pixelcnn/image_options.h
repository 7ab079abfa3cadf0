// The image data options of the PixelCNN family (models/image_data.h), and the one name
// they share with the family's own options: "channels".
//
// The family's options come in two forms:
//   Fashion-MNIST (no image data set named): "channels" is the network's width, as it was
//     before image data sets, so old configs and checkpoints read as they did and a
//     Fashion-MNIST run's config (and checkpoint) is byte for byte what it was.
//   An image data set ("data" names one: folder:, npy:, emoji): "channels" is the images'
//     (1 or 3, as for every image model) and "width" the network's width.
// "width" is taken in both forms (not together with a width "channels").
#pragma once

#include <string>

#include "models/image_data.h"

namespace mg::models::pixelcnn {

// Takes the image options out of `options` and leaves the width, if given, as "channels"
// (the key the family's option structs read). Errors open with `what`.
ImageDataOptions take_image_options(nlohmann::json& options, const std::string& what, bool conditional);

// The model's config from its own options (width as "channels") and its images: the form
// above that take_image_options reads back; Fashion-MNIST's default image options are left out.
nlohmann::json config_with_images(nlohmann::json own, const ImageDataOptions& images, bool conditional);

// Checks float images [N, colours, H, W] (and H x W == size x size when size > 0); errors
// name `what` and the shape expected.
void check_image_batch(const std::string& what, const Tensor& images, int64_t colours, int64_t size = 0);

}  // namespace mg::models::pixelcnn
