#include "models/style/transform_network.h"

#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::style {

InstanceNorm2d::InstanceNorm2d(int64_t channels, double eps) : eps_(eps) {
    MG_CHECK(channels > 0, "InstanceNorm2d: channels must be positive, got {}", channels);
    weight = register_parameter("weight", ones({channels}));
    bias = register_parameter("bias", zeros({channels}));
}

Tensor InstanceNorm2d::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == weight.size(0), "InstanceNorm2d: expected [N, {}, H, W], got {}",
             weight.size(0), x.shape());
    // layer_norm over (H, W) of each (n, c) is instance normalisation without the affine.
    Tensor normalised = layer_norm(x, Shape{x.size(2), x.size(3)}, {}, {}, eps_);
    const int64_t c = weight.size(0);
    return add(mul(normalised, weight.view({1, c, 1, 1})), bias.view({1, c, 1, 1}));
}

Tensor upsample_nearest2x(const Tensor& x) {
    MG_CHECK(x.dim() == 4, "upsample_nearest2x: expected [N, C, H, W], got {}", x.shape());
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.reshape({n, c, h, 1, w, 1}).expand({n, c, h, 2, w, 2}).reshape({n, c, 2 * h, 2 * w});
}

namespace {

constexpr double kEdge = 0.01;  // content pixels are clamped to [kEdge, 1 - kEdge] before the logit

std::shared_ptr<nn::Sequential> conv_in_relu(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu = true) {
    auto block = std::make_shared<nn::Sequential>(std::make_shared<nn::Conv2d>(in, out, kernel, stride, kernel / 2),
                                                  std::make_shared<InstanceNorm2d>(out));
    if (relu) block->push_back(std::make_shared<nn::ReLU>());
    return block;
}

}  // namespace

TransformNetwork::TransformNetwork(int64_t channels, int64_t width, int64_t residual_blocks) {
    MG_CHECK(channels == 1 || channels == 3, "fast-style: channels {} must be 1 or 3", channels);
    MG_CHECK(width >= 1 && width <= 256, "fast-style: width {} not in 1..256", width);
    MG_CHECK(residual_blocks >= 0 && residual_blocks <= 16, "fast-style: residual_blocks {} not in 0..16",
             residual_blocks);
    down_ = register_module("down", std::make_shared<nn::Sequential>(conv_in_relu(channels, width, 9, 1),
                                                                     conv_in_relu(width, 2 * width, 3, 2),
                                                                     conv_in_relu(2 * width, 4 * width, 3, 2)));
    for (int64_t r = 0; r < residual_blocks; ++r) {
        auto block = std::make_shared<nn::Sequential>(conv_in_relu(4 * width, 4 * width, 3, 1),
                                                      conv_in_relu(4 * width, 4 * width, 3, 1, /*relu=*/false));
        residual_.push_back(register_module("res" + std::to_string(r), block));
    }
    up_.push_back(register_module("up0", conv_in_relu(4 * width, 2 * width, 3, 1)));
    up_.push_back(register_module("up1", conv_in_relu(2 * width, width, 3, 1)));
    out_ = register_module("out", std::make_shared<nn::Conv2d>(width, channels, 9, 1, 4));
    nn::init::zeros_(out_->weight);
    nn::init::zeros_(out_->bias);
}

Tensor TransformNetwork::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(2) % 4 == 0 && x.size(3) % 4 == 0,
             "fast-style: expected images [N, C, H, W] with H and W multiples of 4, got {}", x.shape());
    Tensor h = (*down_)(x);
    for (const auto& block : residual_) h = add(h, (*block)(h));
    for (const auto& up : up_) h = (*up)(upsample_nearest2x(h));
    // A change to the content picture in logit space: at the start (out_ zero) T is the
    // identity, so training starts where Gatys starts, from the content, instead of from grey.
    Tensor p = clamp(x, kEdge, 1.0 - kEdge);
    return sigmoid(add(log(div(p, affine(p, -1.0, 1.0))), (*out_)(h)));
}

}  // namespace mg::style
