// An image data set (core/data/image_dataset.h) as the tensors the trainer's loader takes,
// fitted to what a model's DataSpec asks for.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace mg::models {

struct ImageData {
    Tensor images;  // uint8 [N, C, S, S] on the CPU
    Tensor labels;  // int64 [N]
    std::vector<std::string> classes;
};

// Which images of the data set: the training split, the held-out one (core/data/holdout.h:
// about every 10th image of each class, the same every time) or all of them.
enum class ImageSplit { Train, Test, All };

// Opens spec.images at spec.image_size x spec.image_size with spec.channels (the image
// cache's default folder, skip_bad as the spec says) and keeps `split`'s images.
ImageData load_image_data(const DataSpec& spec, ImageSplit split = ImageSplit::Train);

// True for the --data values that name an image data set ("folder:", "npy:", "emoji").
bool is_image_data_spec(const std::string& spec);

}  // namespace mg::models
