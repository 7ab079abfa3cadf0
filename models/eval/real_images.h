// The real images a model is scored against: Fashion-MNIST's test or training set, or an
// image data set's held-out or training split (models/image_data.h), as its DataSpec names it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/model.h"

namespace mg::eval {

struct RealImages {
    Tensor images;  // uint8 [N, C, H, W]
    Tensor labels;  // int64 [N]
    std::vector<std::string> classes;
    std::string data;  // "fashion-mnist" or the image data set spec
};

enum class RealSplit { Training, HeldOut };

// data_dir: Fashion-MNIST's directory (default: its usual place); image sets ignore it.
RealImages load_real_images(const models::DataSpec& spec, RealSplit split,
                            const std::optional<std::string>& data_dir);

// "fashion-mnist", or the spec of the image data set `spec` names.
std::string data_name(const models::DataSpec& spec);

}  // namespace mg::eval
