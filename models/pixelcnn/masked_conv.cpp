#include "models/pixelcnn/masked_conv.h"

#include <vector>

#include <fmt/format.h>

#include "core/ops.h"

namespace mg::models::pixelcnn {

Tensor causal_mask(int64_t out_ch, int64_t in_ch, int64_t k, char type) {
    MG_CHECK(type == 'A' || type == 'B', "causal_mask: mask type must be 'A' or 'B', got '{}'", type);
    MG_CHECK(k >= 1 && k % 2 == 1, "causal_mask: kernel size must be odd (the mask needs a centre), got {}", k);
    MG_CHECK(out_ch > 0 && in_ch > 0, "causal_mask: channels must be positive, got out {} in {}", out_ch, in_ch);
    const int64_t c = k / 2;
    std::vector<float> taps(size_t(k * k));
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const int64_t dy = i - c, dx = j - c;
            taps[size_t(i * k + j)] = dy < 0 || (dy == 0 && (dx < 0 || (dx == 0 && type == 'B'))) ? 1.0f : 0.0f;
        }
    return from_vector(taps, Shape{1, 1, k, k}).expand({out_ch, in_ch, k, k}).contiguous();
}

MaskedConv2d::MaskedConv2d(int64_t in, int64_t out, int64_t k, char type, bool with_bias)
    : nn::Conv2d(in, out, k, 1, k / 2, 1, 1, with_bias), mask_type(type) {
    mask = register_buffer("mask", causal_mask(out, in, k, type));
}

Tensor MaskedConv2d::masked_weight() const { return weight * mask; }

// masked_conv2d skips the hidden taps (about half the work); it equals conv2d(x, masked_weight()).
Tensor MaskedConv2d::forward(const Tensor& x) {
    Tensor y = masked_conv2d(x, weight, mask_type);
    return bias.defined() ? y + bias.view({1, out_channels, 1, 1}) : y;
}

std::string MaskedConv2d::extra_repr() const { return fmt::format("'{}', {}", mask_type, nn::Conv2d::extra_repr()); }

}  // namespace mg::models::pixelcnn
