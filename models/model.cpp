// The defaults of Model's optional abilities: a clear refusal naming the model.
#include "models/model.h"

namespace mg::models {

Tensor Model::sample_with_labels(const Tensor& labels) {
    (void)labels;
    MG_FAIL("model '{}' is not class-conditional: it cannot sample given labels", name());
}

Tensor Model::complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) {
    (void)images, (void)labels, (void)keep_rows, (void)per_image;
    MG_FAIL("model '{}' cannot complete images (the VAEs and PixelCNNs can)", name());
}

Tensor Model::interpolate(int64_t rows, int64_t steps) {
    (void)rows, (void)steps;
    MG_FAIL("model '{}' has no latent space to interpolate in (the VAEs and the image GANs have)", name());
}

}  // namespace mg::models
