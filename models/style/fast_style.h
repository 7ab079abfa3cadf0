// fast-style (Johnson et al. 2016, "Perceptual Losses for Real-Time Style Transfer"): a
// TransformNetwork (models/style/transform_network.h) trained on a content set to minimise
// Gatys's loss (models/style/style_loss.h) for one style image, so that stylising is one
// forward pass instead of an optimisation per picture.
//
// The style image is stored in the checkpoint (module "style", a buffer [1, C, S, S]) and its
// SHA-256 in the config: a checkpoint samples and resumes without the file, and the hash says
// which picture it learnt even after the file moves or changes. Without a style_image option
// the model uses a built-in pattern (diagonal colour stripes), so that it always builds.
#pragma once

#include "core/tensor.h"

namespace mg::models {

// What `minigen sample MODEL --input IMG|DIR` asks of a model: stylise content images.
class Stylizer {
public:
    static constexpr const char* kAbility = "stylize images (--input)";
    virtual ~Stylizer() = default;
    virtual int64_t image_channels() const = 0;
    virtual int64_t image_size() const = 0;
    // images [N, image_channels, S, S] in [0, 1] -> stylised, same shape, in [0, 1].
    virtual Tensor stylize(const Tensor& images) = 0;
};

}  // namespace mg::models
