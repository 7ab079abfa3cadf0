// imagegpt: ImageGPT-small (Chen et al. 2020, "Generative Pretraining from Pixels"), a
// decoder-only transformer over an image's pixels in raster order (imagegpt_net.h), on
// Fashion-MNIST (the default) or any image data set (models/image_data.h: --data,
// --image-size, --channels).
//
//   tokens  grey images without a palette: each pixel's level round(255 x), 256 tokens
//           (Fashion-MNIST: 784 tokens of 256 levels); colour images (or grey ones with a
//           palette): the index of the pixel's nearest colour in a k-means palette of K
//           colours (palette.h), fitted on the training pixels at the first step that needs
//           it and stored in the checkpoint (the network's buffers "palette" [K, C] and
//           "palette_fitted")
//   p(x) = prod over pixels t of softmax(logits_t)[token_t], logits = net(start, token_0 .. token_T-2)
//   loss   cross-entropy of the next token, averaged over the T tokens (nats per token)
//   Adam lr 1e-3 (no schedule, no weight decay), batch 64.
//
// With 256 grey levels a token is one value, so nats per token are nats per dim, as
// pixelcnn's. With a palette a token is a whole pixel (three sub-pixels quantised to K
// colours): the model reports bits per palette token ("bits_per_token", "nll_bits_per_token"),
// the likelihood of the palette indices, which is neither per sub-pixel nor of the exact
// colours (docs/imagegpt.md).
//
// Options (--config JSON):
//   width 64, heads 4, layers 4          d, attention heads (d / heads each), pre-LN blocks
//   max_len 0                            the position table's rows (0: the image's pixels)
//   palette 0                            K colours, 16 .. 512 (0: grey images use the 256
//                                        levels; colour images get 64)
//   palette_init "kmeans++" | "random"   the k-means initial centres (seeded with the run's seed)
//   sampler "cached" | "naive"           (imagegpt_sampler.h)
//   batch_size 64, lr 1e-3, eval_batch 128
#pragma once

#include <memory>

#include "models/imagegpt/imagegpt_net.h"
#include "models/imagegpt/imagegpt_sampler.h"
#include "models/imagegpt/palette.h"
#include "models/pixelcnn/autoregressive_model.h"

namespace mg::models::imagegpt {

struct ImageGptOptions : pixelcnn::TrainingOptions {
    ImageGptShape net;
    int64_t palette = 0;
    PaletteInit palette_init = PaletteInit::KMeansPlusPlus;
    TokenSampler sampler = TokenSampler::Cached;

    template <class Self, class F>
    static void fields(Self& o, F&& f);
    void update_from(const nlohmann::json& json);  // refuses unknown keys, naming them
    nlohmann::json to_json() const;
};

class ImageGptModel : public pixelcnn::AutoregressiveImageModel<ImageGptNet, ImageGptOptions> {
public:
    explicit ImageGptModel(const ModelConfig& config);

    std::string name() const override { return "imagegpt"; }
    Metrics train_step(const data::Batch& batch) override;
    Tensor sample(int64_t n) override;  // [n, C, S, S] in [0, 1]: levels / 255 or palette colours
    // Grey without a palette: "nll_bits_per_dim" as pixelcnn's; with a palette: per token.
    Metrics likelihood(const Tensor& images, const Tensor& labels, const Likelihood::Options& options) override;
    Tensor complete(const Tensor& images, const Tensor& labels, int64_t keep_rows, int64_t per_image) override;
    // The logits of each pixel's token [n, C*K, H, W] (a colour pixel's K logits repeated for
    // each of its C values: one token per pixel), for images [n, C, H, W] in [0, 1] (values
    // rounded to the nearest token). Differentiable in the images by a straight-through term:
    // input position s (pixel s-1's token) gets (x - detach(x)) U added, x pixel s-1's C values,
    // U a fixed [C, d]: zero in value, so the logits are the model's, while the gradient reaches
    // the pixels exactly where the tokens do (models/receptive_field.h's causality check).
    Tensor pixel_logits(const Tensor& images, const Tensor& labels) override;

    void set_sampler(TokenSampler kind) { options_.sampler = kind; }
    bool has_palette() const { return options_.palette > 0; }
    // The palette [K, C] (fitting it from the training data first if it is not yet).
    Tensor palette();
    // Sets the palette [K, C] (values in [0, 1]) instead of fitting it.
    void set_palette(const Tensor& colours);

    // Tokens int64 [N, S*S] of images [N, C, S, S] in [0, 1]; images of tokens.
    Tensor tokens_of(const Tensor& images);
    Tensor images_of(const Tensor& tokens);

private:
    // Samples tokens from `first` on, in chunks of images; uniforms [n, S*S].
    Tensor sample_from(const Tensor& context, int64_t first, const Tensor& uniforms);

    Tensor palette_, palette_fitted_;  // the net's buffers [K, C] and int64 [1], when has_palette()
};

}  // namespace mg::models::imagegpt
