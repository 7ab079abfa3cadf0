#include "models/gan/pix2pix_networks.h"

#include <algorithm>

#include "core/ops.h"
#include "models/gan/networks.h"

namespace mg::models {

using namespace nn;

namespace {

int64_t next_power_of_two(int64_t s) {
    int64_t p = 1;
    while (p < s) p *= 2;
    return p;
}

// x [B, C, S, S] -> [B, C, S + before + after, ...] with `value` around it (differentiable: cat).
Tensor pad_square(const Tensor& x, int64_t before, int64_t after, double value) {
    if (before == 0 && after == 0) return x;
    auto border = [&](int64_t dim, int64_t n) {
        Shape s = x.shape();
        s[dim] = n;
        return full(s, value, {x.dtype(), x.device()});
    };
    Tensor wide = cat({border(3, before), x, border(3, after)}, 3);
    Shape s = wide.shape();
    s[2] = before;
    Tensor top = full(s, value, {x.dtype(), x.device()});
    s[2] = after;
    return cat({top, wide, full(s, value, {x.dtype(), x.device()})}, 2);
}

}  // namespace

UNetGenerator::UNetGenerator(int64_t in_channels, int64_t out_channels, int64_t size_, int64_t width, double dropout_)
    : size(size_), padded(next_power_of_two(size_)), depth(0), dropout(dropout_) {
    MG_CHECK(size >= 16 && size <= 256, "pix2pix U-Net: image size {} not in 16..256", size);
    MG_CHECK(width > 0 && in_channels > 0 && out_channels > 0, "pix2pix U-Net: width and channels must be positive");
    MG_CHECK(dropout >= 0 && dropout < 1, "pix2pix U-Net: dropout {} not in [0, 1)", dropout);
    for (int64_t p = padded; p > 1; p /= 2) ++depth;
    dropout_blocks = std::min<int64_t>(3, depth - 3);
    auto channels = [&](int64_t k) { return width * std::min<int64_t>(int64_t(1) << k, 8); };
    const int64_t n = depth;
    // Lists as Sequential children (never run as one): state_dict names down.0.weight, ...
    auto list = [&](const char* name) { return register_module(name, std::make_shared<Sequential>()); };
    auto down_list = list("down"), down_norm_list = list("down_norm"), up_list = list("up"), up_norm_list = list("up_norm");
    for (int64_t k = 0; k < n; ++k) {
        const int64_t in = k == 0 ? in_channels : channels(k - 1);
        down.push_back(down_list->push_back(std::make_shared<Conv2d>(in, channels(k), 4, 2, 1, 1, 1, /*bias=*/false)));
        if (k >= 1 && k <= n - 2) down_norm.push_back(down_norm_list->push_back(std::make_shared<BatchNorm2d>(channels(k))));
    }
    for (int64_t k = 0; k < n; ++k) {
        const int64_t in = k == n - 1 ? channels(n - 1) : 2 * channels(k);
        const int64_t out = k == 0 ? out_channels : channels(k - 1);
        up.push_back(up_list->push_back(std::make_shared<ConvTranspose2d>(in, out, 4, 2, 1, 0, 1, /*bias=*/k == 0)));
        if (k >= 1) up_norm.push_back(up_norm_list->push_back(std::make_shared<BatchNorm2d>(out)));
    }
}

Tensor UNetGenerator::forward(const Tensor& x) {
    MG_CHECK(x.dim() == 4 && x.size(2) == size && x.size(3) == size && x.size(1) == down[0]->in_channels,
             "pix2pix U-Net: expected input [B, {}, {}, {}], got {}", down[0]->in_channels, size, size, x.shape());
    const int64_t n = depth, before = (padded - size) / 2;
    std::vector<Tensor> e(static_cast<size_t>(n));
    e[0] = (*down[0])(pad_square(x, before, padded - size - before, -1.0));
    for (int64_t k = 1; k < n; ++k) {
        Tensor h = (*down[size_t(k)])(leaky_relu(e[size_t(k - 1)], 0.2));
        e[size_t(k)] = k <= n - 2 ? (*down_norm[size_t(k - 1)])(h) : h;
    }
    Tensor d = (*up_norm[size_t(n - 2)])((*up[size_t(n - 1)])(relu(e[size_t(n - 1)])));  // d_{n-2}
    for (int64_t k = n - 2; k >= 1; --k) {
        d = (*up_norm[size_t(k - 1)])((*up[size_t(k)])(relu(cat({e[size_t(k)], d}, 1))));
        if (n - 2 - k < dropout_blocks && dropout > 0) d = mg::dropout(d, dropout, /*training=*/true);
    }
    Tensor y = tanh((*up[0])(relu(cat({e[0], d}, 1))));
    if (padded == size) return y;
    return y.slice(2, before, before + size).slice(3, before, before + size);
}

int64_t patch_layers(int64_t size) {
    int64_t layers = 1;
    while (layers < 3 && patch_receptive_field(layers + 1) <= size) ++layers;
    return layers;
}

int64_t patch_receptive_field(int64_t layers) {
    int64_t r = 7;  // the two 4x4 stride-1 convolutions: 1 + 3 + 3
    for (int64_t i = 0; i < layers; ++i) r = 2 * r + 2;
    return r;
}

PatchDiscriminator::PatchDiscriminator(int64_t in_channels, int64_t layers, int64_t width) {
    MG_CHECK(layers >= 1 && layers <= 5 && width > 0, "pix2pix PatchGAN: layers {} not in 1..5 or width {} not positive",
             layers, width);
    auto channels = [&](int64_t i) { return width * std::min<int64_t>(int64_t(1) << i, 8); };
    net = register_module("net", std::make_shared<Sequential>());
    net->push_back(std::make_shared<Conv2d>(in_channels, width, 4, 2, 1));
    net->push_back(std::make_shared<LeakyReLU>(0.2));
    for (int64_t i = 1; i <= layers; ++i) {
        const int64_t stride = i < layers ? 2 : 1;
        net->push_back(std::make_shared<Conv2d>(channels(i - 1), channels(i), 4, stride, 1, 1, 1, /*bias=*/false));
        net->push_back(std::make_shared<BatchNorm2d>(channels(i)));
        net->push_back(std::make_shared<LeakyReLU>(0.2));
    }
    net->push_back(std::make_shared<Conv2d>(channels(layers), 1, 4, 1, 1));
}

Tensor PatchDiscriminator::forward(const Tensor& x) { return (*net)(x); }

void pix2pix_init(nn::Module& root) {
    dcgan_init(root);  // weights N(0, 0.02), BatchNorm N(1, 0.02) and 0
    root.apply([](nn::Module& m) {
        if (m.as<Conv2d>() || m.as<ConvTranspose2d>())
            for (auto& [name, p] : m.named_parameters(false))
                if (name == "bias") init::zeros_(p);
    });
}

}  // namespace mg::models
