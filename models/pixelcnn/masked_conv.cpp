#include "models/pixelcnn/masked_conv.h"

#include <vector>

#include <fmt/format.h>

#include "core/ops.h"

namespace mg::models::pixelcnn {

namespace {

void check_colours(const char* op, int64_t out_ch, int64_t in_ch, int64_t colours) {
    MG_CHECK(colours == 1 || colours == 3, "{}: colours must be 1 or 3, got {}", op, colours);
    MG_CHECK(out_ch % colours == 0 && in_ch % colours == 0,
             "{}: with {} colours the channels must split into equal groups, got out {} in {}", op, colours, out_ch,
             in_ch);
}

}  // namespace

int64_t round_to_colours(int64_t channels, int64_t colours) {
    return colours <= 1 ? channels : (channels + colours - 1) / colours * colours;
}

Tensor colour_mask(int64_t out_ch, int64_t in_ch, char type, int64_t colours) {
    MG_CHECK(type == 'A' || type == 'B', "colour_mask: mask type must be 'A' or 'B', got '{}'", type);
    MG_CHECK(out_ch > 0 && in_ch > 0, "colour_mask: channels must be positive, got out {} in {}", out_ch, in_ch);
    check_colours("colour_mask", out_ch, in_ch, colours);
    const int64_t out_group = out_ch / colours, in_group = in_ch / colours;
    std::vector<float> m(size_t(out_ch * in_ch));
    for (int64_t o = 0; o < out_ch; ++o)
        for (int64_t i = 0; i < in_ch; ++i) {
            const int64_t go = o / out_group, gi = i / in_group;
            m[size_t(o * in_ch + i)] = go > gi || (go == gi && type == 'B') ? 1.0f : 0.0f;
        }
    return from_vector(m, Shape{out_ch, in_ch});
}

Tensor causal_mask(int64_t out_ch, int64_t in_ch, int64_t k, char type, int64_t colours) {
    MG_CHECK(type == 'A' || type == 'B', "causal_mask: mask type must be 'A' or 'B', got '{}'", type);
    MG_CHECK(k >= 1 && k % 2 == 1, "causal_mask: kernel size must be odd (the mask needs a centre), got {}", k);
    MG_CHECK(out_ch > 0 && in_ch > 0, "causal_mask: channels must be positive, got out {} in {}", out_ch, in_ch);
    check_colours("causal_mask", out_ch, in_ch, colours);
    const int64_t c = k / 2;
    std::vector<float> taps(size_t(k * k));
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const int64_t dy = i - c, dx = j - c;
            taps[size_t(i * k + j)] = dy < 0 || (dy == 0 && (dx < 0 || (dx == 0 && type == 'B'))) ? 1.0f : 0.0f;
        }
    Tensor mask = from_vector(taps, Shape{1, 1, k, k}).expand({out_ch, in_ch, k, k}).contiguous();
    if (colours > 1)  // the centre tap by the channel groups
        mask.select(2, c).select(2, c).copy_(colour_mask(out_ch, in_ch, type, colours));
    return mask;
}

MaskedConv2d::MaskedConv2d(int64_t in, int64_t out, int64_t k, char type, bool with_bias, int64_t colours_)
    : nn::Conv2d(in, out, k, 1, k / 2, 1, 1, with_bias), mask_type(type), colours(colours_) {
    MG_CHECK(k > 1 || colours > 1, "MaskedConv2d: a 1x1 masked convolution needs colour groups");
    mask = register_buffer("mask", causal_mask(out, in, k, type, colours));
}

Tensor MaskedConv2d::masked_weight() const { return weight * mask; }

// masked_conv2d skips the hidden taps (about half the work); it equals conv2d(x, masked_weight()).
Tensor MaskedConv2d::forward(const Tensor& x) {
    Tensor y;
    if (colours == 1) {
        y = masked_conv2d(x, weight, mask_type);
    } else {
        // The taps before the centre (all channel pairs), plus the centre by the channel groups.
        const int64_t k = weight.size(2), c = k / 2;
        auto centre = [c](const Tensor& t) { return t.slice(2, c, c + 1).slice(3, c, c + 1); };
        y = conv2d(x, centre(weight) * centre(mask));
        if (k > 1) y = masked_conv2d(x, weight, 'A') + y;
    }
    return bias.defined() ? y + bias.view({1, out_channels, 1, 1}) : y;
}

std::string MaskedConv2d::extra_repr() const {
    const std::string base = fmt::format("'{}', {}", mask_type, nn::Conv2d::extra_repr());
    return colours == 1 ? base : fmt::format("{}, colours={}", base, colours);
}

}  // namespace mg::models::pixelcnn
