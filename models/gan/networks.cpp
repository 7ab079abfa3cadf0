#include "models/gan/networks.h"

#include <cmath>

#include "core/ops.h"

namespace mg::models {

using namespace nn;

DcGenerator::DcGenerator(int64_t z_dim, int64_t classes, int64_t width_, int64_t channels, int64_t size, Bug bug)
    : width(width_), shape(image_shape(size)) {
    MG_CHECK(width > 0, "DcGenerator: width must be positive, got {}", width);
    MG_CHECK(channels == 1 || channels == 3, "DcGenerator: channels must be 1 or 3, got {}", channels);
    const int64_t base_channels = width << (shape.blocks - 1);
    fc = register_module("fc", std::make_shared<Linear>(z_dim + classes, base_channels * shape.base * shape.base));
    // The layers are made last to first (default-initialised biases draw from the global
    // generator as they are made): the order in which the 28x28 generator's single
    // Sequential(...) expression made them, so its weights are the same as they always were.
    const bool batchnorm = bug != Bug::GNoBatchNorm;
    auto up = [&](int64_t in, int64_t out) -> std::shared_ptr<Module> {  // doubles H and W
        if (bug == Bug::Checkerboard) return std::make_shared<ConvTranspose2d>(in, out, 3, 2, 1, /*output_padding=*/1);
        return std::make_shared<ConvTranspose2d>(in, out, 4, 2, 1);
    };
    std::vector<std::shared_ptr<Module>> reversed;
    reversed.push_back(std::make_shared<Tanh>());
    reversed.push_back(up(width, channels));
    for (int64_t c = width; c < base_channels; c *= 2) {
        reversed.push_back(std::make_shared<ReLU>());
        if (batchnorm) reversed.push_back(std::make_shared<BatchNorm2d>(c));
        reversed.push_back(up(2 * c, c));
    }
    reversed.push_back(std::make_shared<ReLU>());
    if (batchnorm) reversed.push_back(std::make_shared<BatchNorm2d>(base_channels));
    net = register_module("net", std::make_shared<Sequential>());
    for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) net->push_back(*it);
}

Tensor DcGenerator::forward(const Tensor& z) {
    return (*net)((*fc)(z).view({-1, width << (shape.blocks - 1), shape.base, shape.base}));
}

Tensor DcGenerator::forward_measured(const Tensor& z, std::vector<double>& stds, Tensor* pre_tanh) {
    auto std_of = [](const Tensor& x) { return std::sqrt(var(x, {}, /*correction=*/0).item()); };
    Tensor x = (*fc)(z).view({-1, width << (shape.blocks - 1), shape.base, shape.base});
    for (const auto& layer : *net) {
        if (layer->as<Tanh>()) {
            stds.push_back(std_of(x));
            if (pre_tanh) *pre_tanh = x;
        }
        x = (*layer)(x);
        if (layer->as<ReLU>()) stds.push_back(std_of(x));
    }
    return x;
}

DcDiscriminator::DcDiscriminator(bool batchnorm, int64_t classes, int64_t in_channels, int64_t width,
                                 bool with_spectral_norm, bool projection, int64_t size) {
    MG_CHECK(width > 0, "DcDiscriminator: width must be positive, got {}", width);
    MG_CHECK(!projection || classes > 0, "DcDiscriminator: the projection term needs classes (got {})", classes);
    const ImageShape shape = image_shape(size);
    auto sn = [&](std::shared_ptr<Module> layer) { return nn::spectral_norm(std::move(layer), with_spectral_norm); };
    trunk = register_module("trunk", std::make_shared<Sequential>());
    trunk->push_back(sn(std::make_shared<Conv2d>(in_channels, width, 4, 2, 1)));
    trunk->push_back(std::make_shared<LeakyReLU>(0.2));
    int64_t c = width;
    for (int64_t b = 1; b < shape.blocks; ++b, c *= 2) {
        trunk->push_back(sn(std::make_shared<Conv2d>(c, 2 * c, 4, 2, 1)));
        if (batchnorm) trunk->push_back(std::make_shared<BatchNorm2d>(2 * c));
        trunk->push_back(std::make_shared<LeakyReLU>(0.2));
    }
    trunk->push_back(std::make_shared<Flatten>());
    const int64_t features = c * shape.base * shape.base;
    fc = register_module("fc", sn(std::make_shared<Linear>(features + classes, 1)));
    if (projection) embed = register_module("embed", sn(std::make_shared<Linear>(classes, features, /*bias=*/false)));
}

Tensor DcDiscriminator::forward(const Tensor& x) { return (*fc)((*trunk)(x)); }
Tensor DcDiscriminator::forward(const Tensor& x, const Tensor& onehot) {
    Tensor h = (*trunk)(x);
    Tensor logit = (*fc)(cat({h, onehot}, 1));
    if (!embed) return logit;
    return logit + sum((*embed)(onehot) * h, {1}, /*keepdim=*/true);  // + <embed(y), h>
}

void dcgan_init(nn::Module& root) {
    root.apply([](nn::Module& m) {
        if (auto* s = m.as<SpectralNorm>()) {
            init::normal_(s->weight_orig, 0.0, 0.02);
        } else if (m.as<Conv2d>() || m.as<ConvTranspose2d>() || m.as<Linear>()) {
            for (auto& [name, p] : m.named_parameters(false))
                if (name == "weight") init::normal_(p, 0.0, 0.02);
        } else if (m.as<BatchNorm2d>()) {
            for (auto& [name, p] : m.named_parameters(false)) {
                if (name == "weight") init::normal_(p, 1.0, 0.02);
                if (name == "bias") init::zeros_(p);
            }
        }
    });
}

}  // namespace mg::models
