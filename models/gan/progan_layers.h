// The pieces of the progressive growing GAN (Karras et al. 2018) that are not plain layers:
// equalized learning rate, pixelwise feature normalization, minibatch standard deviation,
// the 2x resampling between resolutions and the fade-in blend. models/gan/progan_networks.h
// builds G and D from them.
#pragma once

#include "core/nn/module.h"
#include "core/ops.h"

namespace mg::models {

// Equalized learning rate: the weight is stored as N(0, 1) and multiplied at run time by
// He's constant c = gain / sqrt(fan_in). The forward equals a conv whose weight was drawn
// with He's init, but Adam, which normalises each parameter's step, now moves every layer
// at the same relative speed whatever its fan-in. The scale is part of the graph
// (weight * c), so the stored weight's gradient is c times the used weight's.
class EqualizedConv2d : public nn::Module {
public:
    // k x k, stride 1, padding k / 2 (same size) unless `padding` says otherwise; slope >= 0
    // fuses LeakyReLU(slope) after the bias, slope < 0 adds the bias only.
    EqualizedConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, double slope, double gain = std::sqrt(2.0),
                    int64_t padding = -1);
    Tensor forward(const Tensor& x) override;  // [N, C_in, H, W] -> [N, C_out, H', W']
    std::string extra_repr() const override;

    Tensor weight;  // [C_out, C_in, k, k], N(0, 1)
    Tensor bias;    // [C_out], zeros
    double scale;   // gain / sqrt(C_in * k * k)
    double slope;
    int64_t padding;
};

// The dense layer with the same rule: y = x (c W)^T + b, then LeakyReLU(slope) when slope >= 0.
class EqualizedLinear : public nn::Module {
public:
    EqualizedLinear(int64_t in_features, int64_t out_features, double slope, double gain = std::sqrt(2.0));
    Tensor forward(const Tensor& x) override;  // [N, in] -> [N, out]
    std::string extra_repr() const override;

    Tensor weight;  // [out, in], N(0, 1)
    Tensor bias;    // [out], zeros
    double scale;   // gain / sqrt(in)
    double slope;
};

// Pixelwise feature normalization: each pixel's feature vector divided by its RMS over the
// channels, x / sqrt(mean_c(x^2) + 1e-8). x [N, C, ...] (a latent [N, C] too).
Tensor pixel_norm(const Tensor& x);

// Minibatch standard deviation: x [N, C, H, W] -> [N, C + 1, H, W]. The batch is split into
// groups of min(group_size, N) samples (sample i in group i % (N / G), as the paper's
// reshape does; G must divide N); per group, the standard deviation over the group of every
// feature and pixel (population, + 1e-8 under the root), averaged over features and pixels,
// is one number, appended to each member of the group as a constant feature map. D can then
// see a batch's lack of variety, which a per-sample D cannot.
Tensor minibatch_stddev(const Tensor& x, int64_t group_size);

// Nearest-neighbour upsampling by an integer factor: [N, C, H, W] -> [N, C, fH, fW].
Tensor upsample_nearest(const Tensor& x, int64_t factor);
// Average pooling by an integer factor (factor 1: x itself): [N, C, H, W] -> [N, C, H/f, W/f].
Tensor downsample_average(const Tensor& x, int64_t factor);

// The fade-in blend (1 - alpha) * old + alpha * fresh, exactly `old` at alpha <= 0 and
// exactly `fresh` at alpha >= 1 (the other side is then not even read).
Tensor fade_in(const Tensor& old, const Tensor& fresh, double alpha);

}  // namespace mg::models
