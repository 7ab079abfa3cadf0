#include "models/gan/progan_layers.h"

#include <cmath>

#include "core/nn/init.h"

namespace mg::models {

EqualizedConv2d::EqualizedConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, double slope_,
                                 double gain, int64_t padding_)
    : scale(gain / std::sqrt(double(in_channels * kernel * kernel))),
      slope(slope_),
      padding(padding_ < 0 ? kernel / 2 : padding_) {
    MG_CHECK(in_channels > 0 && out_channels > 0 && kernel > 0,
             "EqualizedConv2d: channels and kernel must be positive, got {}, {} and {}", in_channels, out_channels, kernel);
    weight = register_parameter("weight", nn::init::normal_(empty({out_channels, in_channels, kernel, kernel})));
    bias = register_parameter("bias", zeros({out_channels}));
}

Tensor EqualizedConv2d::forward(const Tensor& x) {
    Conv2dOptions o;
    o.padding = padding;
    Tensor y = conv2d(x, mul(weight, scale), {}, o);
    if (slope >= 0) return bias_leaky_relu(y, bias, slope);
    return add(y, bias.view({1, bias.size(0), 1, 1}));
}

std::string EqualizedConv2d::extra_repr() const {
    return fmt::format("{}, {}, kernel_size={}, padding={}, scale={:.4g}, slope={}", weight.size(1), weight.size(0),
                       weight.size(2), padding, scale, slope);
}

EqualizedLinear::EqualizedLinear(int64_t in_features, int64_t out_features, double slope_, double gain)
    : scale(gain / std::sqrt(double(in_features))), slope(slope_) {
    MG_CHECK(in_features > 0 && out_features > 0, "EqualizedLinear: sizes must be positive, got {} and {}", in_features,
             out_features);
    weight = register_parameter("weight", nn::init::normal_(empty({out_features, in_features})));
    bias = register_parameter("bias", zeros({out_features}));
}

Tensor EqualizedLinear::forward(const Tensor& x) {
    if (slope >= 0) return bias_leaky_relu(linear(x, mul(weight, scale)), bias, slope);
    return linear(x, mul(weight, scale), bias);
}

std::string EqualizedLinear::extra_repr() const {
    return fmt::format("in_features={}, out_features={}, scale={:.4g}, slope={}", weight.size(1), weight.size(0), scale,
                       slope);
}

Tensor pixel_norm(const Tensor& x) {
    MG_CHECK(x.dim() >= 2, "pixel_norm: expected [N, C, ...], got {}", x.shape());
    return div(x, sqrt(add(mean(square(x), {1}, /*keepdim=*/true), 1e-8)));
}

Tensor minibatch_stddev(const Tensor& x, int64_t group_size) {
    MG_CHECK(x.dim() == 4, "minibatch_stddev: expected [N, C, H, W], got {}", x.shape());
    MG_CHECK(group_size >= 1, "minibatch_stddev: group size {} must be >= 1", group_size);
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    const int64_t g = std::min(group_size, n);
    MG_CHECK(n % g == 0, "minibatch_stddev: the batch of {} does not split into groups of {}", n, g);
    const int64_t m = n / g;                                    // groups; sample i is in group i % m
    Tensor y = x.reshape({g, m, c, h, w});
    Tensor centred = sub(y, mean(y, {0}, /*keepdim=*/true));
    Tensor stddev = sqrt(add(mean(square(centred), {0}), 1e-8));  // [m, C, H, W]
    Tensor per_group = mean(stddev, {1, 2, 3});                     // [m]
    // Group member i (row i of the batch) gets its group's value i % m: the [m] row repeated g times.
    Tensor feature = per_group.view({1, m, 1, 1, 1}).expand({g, m, 1, h, w}).reshape({n, 1, h, w});
    return cat({x, feature}, 1);
}

Tensor upsample_nearest(const Tensor& x, int64_t factor) {
    MG_CHECK(x.dim() == 4 && factor >= 1, "upsample_nearest: expected [N, C, H, W] and a factor >= 1, got {} and {}",
             x.shape(), factor);
    if (factor == 1) return x;
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.reshape({n, c, h, 1, w, 1}).expand({n, c, h, factor, w, factor}).reshape({n, c, h * factor, w * factor});
}

Tensor downsample_average(const Tensor& x, int64_t factor) {
    MG_CHECK(factor >= 1, "downsample_average: factor {} must be >= 1", factor);
    return factor == 1 ? x : avg_pool2d(x, factor);
}

Tensor fade_in(const Tensor& old, const Tensor& fresh, double alpha) {
    if (alpha <= 0) return old;
    if (alpha >= 1) return fresh;
    return add(mul(old, 1.0 - alpha), mul(fresh, alpha));
}

}  // namespace mg::models
