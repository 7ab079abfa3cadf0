#include "models/gan/progan_networks.h"

#include <algorithm>

namespace mg::models {

namespace {

constexpr double kSlope = 0.2;  // LeakyReLU's, everywhere but toRGB and the score

// G's 4x4 start: z -> pixel norm -> dense to [c, 4, 4] -> conv3x3, pixel norm after each.
class GeneratorStem : public nn::Module {
public:
    GeneratorStem(int64_t z_dim, int64_t c) : c_(c) {
        // The paper's 4x4 "conv" on a 1x1 latent is this dense layer; gain sqrt(2)/4 as its code.
        dense_ = register_module("dense", std::make_shared<EqualizedLinear>(z_dim, c * 16, kSlope, std::sqrt(2.0) / 4));
        conv_ = register_module("conv", std::make_shared<EqualizedConv2d>(c, c, 3, kSlope));
    }
    Tensor forward(const Tensor& z) override {  // [N, z_dim] -> [N, c, 4, 4]
        Tensor h = pixel_norm((*dense_)(pixel_norm(z)).reshape({z.size(0), c_, 4, 4}));
        return pixel_norm((*conv_)(h));
    }

private:
    int64_t c_;
    std::shared_ptr<EqualizedLinear> dense_;
    std::shared_ptr<EqualizedConv2d> conv_;
};

// G's level l >= 1: upsample 2x, then two conv3x3, pixel norm after each.
class GeneratorBlock : public nn::Module {
public:
    GeneratorBlock(int64_t in, int64_t out) {
        conv1_ = register_module("conv1", std::make_shared<EqualizedConv2d>(in, out, 3, kSlope));
        conv2_ = register_module("conv2", std::make_shared<EqualizedConv2d>(out, out, 3, kSlope));
    }
    Tensor forward(const Tensor& x) override {  // [N, in, H, W] -> [N, out, 2H, 2W]
        return pixel_norm((*conv2_)(pixel_norm((*conv1_)(upsample_nearest(x, 2)))));
    }

private:
    std::shared_ptr<EqualizedConv2d> conv1_, conv2_;
};

// D's level l >= 1: two conv3x3, then average pooling 2x.
class DiscriminatorBlock : public nn::Module {
public:
    DiscriminatorBlock(int64_t in, int64_t out) {
        conv1_ = register_module("conv1", std::make_shared<EqualizedConv2d>(in, in, 3, kSlope));
        conv2_ = register_module("conv2", std::make_shared<EqualizedConv2d>(in, out, 3, kSlope));
    }
    Tensor forward(const Tensor& x) override {  // [N, in, H, W] -> [N, out, H/2, W/2]
        return downsample_average((*conv2_)((*conv1_)(x)), 2);
    }

private:
    std::shared_ptr<EqualizedConv2d> conv1_, conv2_;
};

// D's 4x4 end: minibatch stddev, conv3x3, conv4x4 (valid, to 1x1), dense to one score.
class DiscriminatorHead : public nn::Module {
public:
    DiscriminatorHead(int64_t c, int64_t group_size) : group_size_(group_size) {
        conv3_ = register_module("conv3", std::make_shared<EqualizedConv2d>(c + 1, c, 3, kSlope));
        conv4_ = register_module("conv4", std::make_shared<EqualizedConv2d>(c, c, 4, kSlope, std::sqrt(2.0), 0));
        dense_ = register_module("dense", std::make_shared<EqualizedLinear>(c, 1, -1.0, 1.0));
    }
    Tensor forward(const Tensor& x) override {  // [N, c, 4, 4] -> [N, 1]
        Tensor h = (*conv4_)((*conv3_)(minibatch_stddev(x, group_size_)));
        return (*dense_)(h.flatten(1));
    }

private:
    int64_t group_size_;
    std::shared_ptr<EqualizedConv2d> conv3_, conv4_;
    std::shared_ptr<EqualizedLinear> dense_;
};

void check_point(const char* who, GrowthPoint at, size_t levels) {
    MG_CHECK(at.level >= 0 && at.level < int64_t(levels), "{}: level {} outside the networks' 0 .. {}", who, at.level,
             levels - 1);
    MG_CHECK(at.alpha >= 0 && at.alpha <= 1, "{}: alpha {} not in [0, 1]", who, at.alpha);
}

}  // namespace

std::vector<int64_t> progan_channels(int64_t width, int64_t levels) {
    std::vector<int64_t> c;
    for (int64_t l = 0; l < levels; ++l) c.push_back(std::max<int64_t>(8, l <= 2 ? width : width >> (l - 2)));
    return c;
}

ProGenerator::ProGenerator(int64_t z_dim, const std::vector<int64_t>& channels, int64_t image_channels) {
    MG_CHECK(!channels.empty(), "ProGenerator: no levels");
    for (size_t l = 0; l < channels.size(); ++l) {
        std::shared_ptr<nn::Module> block;
        if (l == 0) block = std::make_shared<GeneratorStem>(z_dim, channels[0]);
        else block = std::make_shared<GeneratorBlock>(channels[l - 1], channels[l]);
        blocks_.push_back(register_module(fmt::format("block{}", l), block));
        to_rgb_.push_back(register_module(fmt::format("to_rgb{}", l),
                                          std::make_shared<EqualizedConv2d>(channels[l], image_channels, 1, -1.0, 1.0)));
    }
}

Tensor ProGenerator::forward(const Tensor& z) { return forward(z, {int64_t(blocks_.size()) - 1, 1.0}); }

Tensor ProGenerator::forward(const Tensor& z, GrowthPoint at) {
    check_point("progan G", at, blocks_.size());
    Tensor h = (*blocks_[0])(z), previous;
    for (int64_t l = 1; l <= at.level; ++l) {
        previous = h;
        h = (*blocks_[size_t(l)])(h);
    }
    Tensor fresh = (*to_rgb_[size_t(at.level)])(h);
    if (at.level == 0 || at.alpha >= 1) return fresh;
    return fade_in(upsample_nearest((*to_rgb_[size_t(at.level - 1)])(previous), 2), fresh, at.alpha);
}

ProDiscriminator::ProDiscriminator(const std::vector<int64_t>& channels, int64_t image_channels, int64_t group_size) {
    MG_CHECK(!channels.empty(), "ProDiscriminator: no levels");
    for (size_t l = 0; l < channels.size(); ++l) {
        from_rgb_.push_back(register_module(fmt::format("from_rgb{}", l),
                                            std::make_shared<EqualizedConv2d>(image_channels, channels[l], 1, kSlope)));
        blocks_.push_back(l == 0 ? nullptr
                                 : register_module(fmt::format("block{}", l),
                                                   std::shared_ptr<nn::Module>(std::make_shared<DiscriminatorBlock>(
                                                       channels[l], channels[l - 1]))));
    }
    head_ = register_module("head", std::make_shared<DiscriminatorHead>(channels[0], group_size));
}

Tensor ProDiscriminator::forward(const Tensor& x) { return forward(x, {int64_t(from_rgb_.size()) - 1, 1.0}); }

Tensor ProDiscriminator::forward(const Tensor& x, GrowthPoint at) {
    check_point("progan D", at, from_rgb_.size());
    const int64_t size = int64_t(4) << at.level;
    MG_CHECK(x.dim() == 4 && x.size(2) == size && x.size(3) == size,
             "progan D: level {} takes [N, C, {}, {}] images, got {}", at.level, size, size, x.shape());
    Tensor h = (*from_rgb_[size_t(at.level)])(x);
    if (at.level > 0) {
        h = (*blocks_[size_t(at.level)])(h);
        if (at.alpha < 1) h = fade_in((*from_rgb_[size_t(at.level - 1)])(downsample_average(x, 2)), h, at.alpha);
    }
    for (int64_t l = at.level - 1; l >= 1; --l) h = (*blocks_[size_t(l)])(h);
    return (*head_)(h);
}

GrowthSchedule::Phase GrowthSchedule::at(int64_t step) const {
    Phase p;
    p.at.level = start_level;
    const int64_t seen = step * batch_size;
    if (seen < stable_images || final_level == start_level) return p;
    const int64_t period = fade_images + stable_images;
    const int64_t grown = (seen - stable_images) / period + 1;  // levels begun after the start
    if (grown > final_level - start_level) {  // past the last fade: the final level, stable
        p.at.level = final_level;
        p.index = 2 * (final_level - start_level);
        return p;
    }
    const int64_t within = (seen - stable_images) % period;
    p.at.level = start_level + grown;
    p.index = 2 * grown - 1;
    if (within < fade_images) p.at.alpha = double(within) / double(fade_images);
    else p.index += 1;
    return p;
}

}  // namespace mg::models
