#include "models/gan/cyclegan_networks.h"

#include "core/ops.h"

namespace mg::models {

using namespace nn;

namespace {

// InstanceNorm2d(affine=False): each (image, channel) plane normalised over its H x W.
class InstanceNorm2d : public Module {
public:
    Tensor forward(const Tensor& x) override { return layer_norm(x, Shape{x.size(2), x.size(3)}); }
};

// x + IN(Conv3x3(ReLU(IN(Conv3x3(x))))), channels kept.
class ResidualBlock : public Module {
public:
    explicit ResidualBlock(int64_t channels) {
        body = register_module("body", std::make_shared<Sequential>());
        body->push_back(std::make_shared<Conv2d>(channels, channels, 3, 1, 1, 1, 1, /*bias=*/false));
        body->push_back(std::make_shared<InstanceNorm2d>());
        body->push_back(std::make_shared<ReLU>());
        body->push_back(std::make_shared<Conv2d>(channels, channels, 3, 1, 1, 1, 1, /*bias=*/false));
        body->push_back(std::make_shared<InstanceNorm2d>());
    }
    Tensor forward(const Tensor& x) override { return add(x, (*body)(x)); }
    std::shared_ptr<Sequential> body;
};

}  // namespace

ResnetGenerator::ResnetGenerator(int64_t channels_, int64_t width, int64_t blocks, int64_t size_)
    : channels(channels_), size(size_) {
    MG_CHECK(channels > 0 && width > 0 && blocks >= 0, "cyclegan generator: channels {}, width {} must be positive "
             "and blocks {} >= 0", channels, width, blocks);
    MG_CHECK(size >= 8 && size % 4 == 0, "cyclegan generator: image size {} must be a multiple of 4, at least 8 (two "
             "stride-2 downsamplings and back)", size);
    net = register_module("net", std::make_shared<Sequential>());
    auto norm_relu = [&] {
        net->push_back(std::make_shared<InstanceNorm2d>());
        net->push_back(std::make_shared<ReLU>());
    };
    net->push_back(std::make_shared<Conv2d>(channels, width, 7, 1, 3, 1, 1, /*bias=*/false));
    norm_relu();
    net->push_back(std::make_shared<Conv2d>(width, 2 * width, 3, 2, 1, 1, 1, /*bias=*/false));
    norm_relu();
    net->push_back(std::make_shared<Conv2d>(2 * width, 4 * width, 3, 2, 1, 1, 1, /*bias=*/false));
    norm_relu();
    for (int64_t i = 0; i < blocks; ++i) net->push_back(std::make_shared<ResidualBlock>(4 * width));
    net->push_back(std::make_shared<ConvTranspose2d>(4 * width, 2 * width, 3, 2, 1, 1, 1, /*bias=*/false));
    norm_relu();
    net->push_back(std::make_shared<ConvTranspose2d>(2 * width, width, 3, 2, 1, 1, 1, /*bias=*/false));
    norm_relu();
    net->push_back(std::make_shared<Conv2d>(width, channels, 7, 1, 3));
    net->push_back(std::make_shared<Tanh>());
}

Tensor ResnetGenerator::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(1) == channels && x.size(2) == size && x.size(3) == size,
             "cyclegan generator: expected input [B, {}, {}, {}], got {}", channels, size, size, x.shape());
    return (*net)(x);
}

}  // namespace mg::models
