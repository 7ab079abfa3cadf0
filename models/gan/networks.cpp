#include "models/gan/networks.h"

#include "core/ops.h"

namespace mg::models {

using namespace nn;

DcGenerator::DcGenerator(int64_t z_dim, int64_t classes, int64_t width_) : width(width_) {
    MG_CHECK(width > 0, "DcGenerator: width must be positive, got {}", width);
    fc = register_module("fc", std::make_shared<Linear>(z_dim + classes, 2 * width * 7 * 7));
    net = register_module("net", std::make_shared<Sequential>(
        std::make_shared<BatchNorm2d>(2 * width), std::make_shared<ReLU>(),
        std::make_shared<ConvTranspose2d>(2 * width, width, 4, 2, 1), std::make_shared<BatchNorm2d>(width),
        std::make_shared<ReLU>(), std::make_shared<ConvTranspose2d>(width, 1, 4, 2, 1), std::make_shared<Tanh>()));
}

Tensor DcGenerator::forward(const Tensor& z) { return (*net)((*fc)(z).view({-1, 2 * width, 7, 7})); }

DcDiscriminator::DcDiscriminator(bool batchnorm, int64_t classes, int64_t in_channels, int64_t width,
                                 bool with_spectral_norm, bool projection) {
    MG_CHECK(width > 0, "DcDiscriminator: width must be positive, got {}", width);
    MG_CHECK(!projection || classes > 0, "DcDiscriminator: the projection term needs classes (got {})", classes);
    auto sn = [&](std::shared_ptr<Module> layer) { return nn::spectral_norm(std::move(layer), with_spectral_norm); };
    trunk = register_module("trunk", std::make_shared<Sequential>());
    trunk->push_back(sn(std::make_shared<Conv2d>(in_channels, width, 4, 2, 1)));
    trunk->push_back(std::make_shared<LeakyReLU>(0.2));
    trunk->push_back(sn(std::make_shared<Conv2d>(width, 2 * width, 4, 2, 1)));
    if (batchnorm) trunk->push_back(std::make_shared<BatchNorm2d>(2 * width));
    trunk->push_back(std::make_shared<LeakyReLU>(0.2));
    trunk->push_back(std::make_shared<Flatten>());
    fc = register_module("fc", sn(std::make_shared<Linear>(2 * width * 7 * 7 + classes, 1)));
    if (projection)
        embed = register_module("embed", sn(std::make_shared<Linear>(classes, 2 * width * 7 * 7, /*bias=*/false)));
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
