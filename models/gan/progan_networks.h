// The progressive growing GAN's networks and schedule (Karras et al. 2018).
//
// Level l works at resolution 4 * 2^l. Both networks are built for every level up to the
// final one at once; a forward runs the levels up to `level`, blending in the newest one
// with `alpha` (fade_in):
//
//   G:  z -> pixel_norm -> dense -> [c0, 4, 4] -> conv3x3          (LeakyReLU 0.2 + pixel norm after each)
//       level l >= 1: upsample 2x (nearest) -> conv3x3 -> conv3x3  (each: LeakyReLU 0.2 + pixel norm)
//       toRGB_l: conv1x1 (linear)
//       out = fade_in(upsample(toRGB_{l-1}(h_{l-1})), toRGB_l(h_l), alpha)
//   D:  fromRGB_l: conv1x1 + LeakyReLU; level l >= 1: conv3x3 -> conv3x3 -> avg pool 2x
//       h = fade_in(fromRGB_{l-1}(avg_pool(x)), block_l(fromRGB_l(x)), alpha), then blocks l-1 .. 1
//       level 0: minibatch stddev -> conv3x3 -> conv4x4 (valid) -> dense -> 1 score
//
// Every conv and dense layer has an equalized learning rate (progan_layers.h).
#pragma once

#include <memory>
#include <vector>

#include "models/gan/progan_layers.h"

namespace mg::models {

// Channels at each level: width up to 16x16, then halved per doubling (a CPU-sized version
// of the paper's 512 halved from 64x64 on), at least 8.
std::vector<int64_t> progan_channels(int64_t width, int64_t levels);

// The networks' input: the level (0 = 4x4) and the fade-in weight of its newest block.
struct GrowthPoint {
    int64_t level = 0;
    double alpha = 1.0;  // in [0, 1]; 1 when the level is stable
};

class ProGenerator : public nn::Module {
public:
    // channels[l]: level l's feature maps (levels = channels.size()).
    ProGenerator(int64_t z_dim, const std::vector<int64_t>& channels, int64_t image_channels);
    Tensor forward(const Tensor& z) override;  // at the last level, alpha 1
    // z [N, z_dim] -> [N, image_channels, 4 * 2^level, same].
    Tensor forward(const Tensor& z, GrowthPoint at);

private:
    std::vector<std::shared_ptr<nn::Module>> blocks_;       // blocks_[l]: level l's features
    std::vector<std::shared_ptr<EqualizedConv2d>> to_rgb_;  // to_rgb_[l]: level l's image
};

class ProDiscriminator : public nn::Module {
public:
    ProDiscriminator(const std::vector<int64_t>& channels, int64_t image_channels, int64_t group_size);
    Tensor forward(const Tensor& x) override;  // at the last level, alpha 1
    // x [N, image_channels, 4 * 2^level, same] -> scores [N, 1].
    Tensor forward(const Tensor& x, GrowthPoint at);

private:
    std::vector<std::shared_ptr<nn::Module>> blocks_;         // blocks_[l], l >= 1: level l -> l - 1
    std::vector<std::shared_ptr<EqualizedConv2d>> from_rgb_;  // from_rgb_[l]
    std::shared_ptr<nn::Module> head_;  // level 0: minibatch stddev, conv3x3, conv4x4, dense
};

// When each level trains: `start_level` stable for `stable_images` images, then each next
// level fades in over `fade_images` and is stable for `stable_images`; the last level stays.
// The phase is a function of the step alone, so a resumed run is where it left off.
struct GrowthSchedule {
    int64_t start_level = 0, final_level = 0;
    int64_t fade_images = 0, stable_images = 0;
    int64_t batch_size = 1;

    struct Phase {
        int64_t index = 0;  // 0: the first stable phase; then fade, stable, fade, ... (2 per level)
        GrowthPoint at;
        bool fading() const { return at.alpha < 1.0; }
        int64_t resolution() const { return int64_t(4) << at.level; }
    };
    // The phase of the step that starts with step * batch_size images seen: during a fade,
    // alpha = (images seen since the fade began) / fade_images, from exactly 0.
    Phase at(int64_t step) const;
};

}  // namespace mg::models
