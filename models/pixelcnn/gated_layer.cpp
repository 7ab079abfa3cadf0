#include "models/pixelcnn/gated_layer.h"

#include <cmath>

#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::models {

Tensor gated_activation(const Tensor& a) {
    const int64_t c2 = a.size(1);
    MG_CHECK(c2 % 2 == 0, "gated_activation: expected an even channel count, got {}", c2);
    // Dense halves: the elementwise kernels may take another code path for strided inputs, and
    // the samplers rely on every path computing the same bits for the same pixel.
    return tanh(a.slice(1, 0, c2 / 2).contiguous()) * sigmoid(a.slice(1, c2 / 2, c2).contiguous());
}

GatedLayer::GatedLayer(int64_t in_channels_, int64_t channels_, int64_t kernel_, bool first_, int64_t classes_,
                       int64_t colours_)
    : in_channels(in_channels_), channels(channels_), kernel(kernel_), first(first_), classes(classes_),
      colours(colours_) {
    MG_CHECK(in_channels > 0 && channels > 0, "GatedLayer: channels must be positive, got in {} and {}", in_channels,
             channels);
    MG_CHECK(kernel >= 3 && kernel % 2 == 1, "GatedLayer: kernel must be odd and >= 3, got {}", kernel);
    MG_CHECK(first || in_channels == channels, "GatedLayer: a residual layer needs in_channels == channels ({} vs {})",
             in_channels, channels);
    MG_CHECK(classes >= 0, "GatedLayer: classes must be >= 0, got {}", classes);
    const int64_t h = kernel / 2;
    // Width padding h on both sides keeps W columns; the top padding is added by hand (pad_top).
    conv_v = register_module("conv_v", std::make_shared<nn::Conv2d>(in_channels, 2 * channels, Pair(h + 1, kernel),
                                                                    1, Pair(0, h)));
    conv_link = register_module("conv_link", std::make_shared<nn::Conv2d>(2 * channels, 2 * channels, 1));
    // Symmetric padding h, then the first W output columns: column c sees c-h .. c (or c-1:
    // the first grey layer; a colour one sees the centre column through its group mask).
    const int64_t hw = first && colours == 1 ? h : h + 1;
    conv_h = register_module("conv_h", std::make_shared<nn::Conv2d>(in_channels, 2 * channels, Pair(1, hw), 1,
                                                                    Pair(0, h)));
    if (colours == 1) {
        conv_out = register_module("conv_out", std::make_shared<nn::Conv2d>(channels, channels, 1));
    } else {
        conv_out = register_module(
            "conv_out", std::make_shared<models::pixelcnn::MaskedConv2d>(channels, channels, 1, 'B', true, colours));
        // Every column before the centre; the centre by the groups, the same for both gate halves.
        Tensor centre = models::pixelcnn::colour_mask(channels, in_channels, first ? 'A' : 'B', colours);
        Tensor m = ones({2 * channels, in_channels, 1, hw});
        m.select(3, h).select(2, 0).copy_(cat({centre, centre}, 0));
        mask_h = register_buffer("mask_h", m);
    }
    if (classes > 0) {
        label_v = register_module("label_v", std::make_shared<nn::Embedding>(classes, 2 * channels));
        label_h = register_module("label_h", std::make_shared<nn::Embedding>(classes, 2 * channels));
        // As a Linear on one-hot(y) would start: U(-1/sqrt(classes), 1/sqrt(classes)).
        const double bound = 1.0 / std::sqrt(double(classes));
        nn::init::uniform_(label_v->weight, -bound, bound);
        nn::init::uniform_(label_h->weight, -bound, bound);
    }
}

Tensor GatedLayer::conv_h_weight() const { return mask_h.defined() ? conv_h->weight * mask_h : conv_h->weight; }

Tensor GatedLayer::label_bias(const std::shared_ptr<nn::Embedding>& table, const Tensor& labels) const {
    if (!table) {
        MG_CHECK(!labels.defined(), "GatedLayer: labels given to an unconditional layer");
        return {};
    }
    MG_CHECK(labels.defined() && labels.dtype() == DType::Int64 && labels.dim() == 1,
             "GatedLayer: a conditional layer needs int64 labels [N], got {}",
             labels.defined() ? labels.shape().str() : std::string("none"));
    return (*table)(labels).unsqueeze(2).unsqueeze(3);  // [N, 2C, 1, 1]
}

Tensor GatedLayer::vertical_conv(const Tensor& v) {
    MG_CHECK(v.dim() == 4, "GatedLayer: vertical input must be [N, {}, H, W], got {}", in_channels, v.shape());
    Shape pad = v.shape();
    pad[2] = kernel / 2 + 1;
    return vertical_conv_unpadded(cat({zeros(pad, {v.dtype(), v.device()}), v}, 2));
}

Tensor GatedLayer::vertical_conv_unpadded(const Tensor& v) {
    MG_CHECK(v.dim() == 4 && v.size(1) == in_channels && v.size(2) > kernel / 2,
             "GatedLayer: vertical input must be [N, {}, H > {}, W], got {}", in_channels, kernel / 2, v.shape());
    return (*conv_v)(v);
}

Tensor GatedLayer::vertical_gate(const Tensor& vp_rows, const Tensor& labels) {
    Tensor a = vp_rows;
    if (classes > 0) a = a + label_bias(label_v, labels);
    return gated_activation(a);
}

Tensor GatedLayer::link(const Tensor& vp_rows) { return (*conv_link)(vp_rows); }

Tensor GatedLayer::horizontal(const Tensor& h, const Tensor& link, const Tensor& labels) {
    MG_CHECK(h.dim() == 4 && h.size(1) == in_channels, "GatedLayer: horizontal input must be [N, {}, H, W], got {}",
             in_channels, h.shape());
    const Tensor a = mask_h.defined() ? conv2d(h, conv_h_weight(), conv_h->bias, conv_h->options) : (*conv_h)(h);
    return horizontal_rest(a.slice(3, 0, h.size(3)), link, labels, h);
}

Tensor GatedLayer::horizontal_pair(const Tensor& h, const Tensor& link, const Tensor& labels) {
    const int64_t half = kernel / 2;
    MG_CHECK(h.dim() == 4 && h.size(1) == in_channels && h.size(2) == 1 && h.size(3) == half + 2,
             "GatedLayer: horizontal_pair input must be [N, {}, 1, {}], got {}", in_channels, half + 2, h.shape());
    // Without padding the conv's first two outputs are columns p and p+1 (mask A: 3 outputs,
    // the last one would need column p+2); the same taps as the padded conv, in the same order.
    Tensor a = conv2d(h, conv_h_weight(), conv_h->bias).slice(3, 0, 2);
    return horizontal_rest(a, link, labels, h.slice(3, half, half + 2));
}

Tensor GatedLayer::horizontal_rest(const Tensor& a, const Tensor& link, const Tensor& labels, const Tensor& residual) {
    MG_CHECK(link.dim() == 4 && link.size(2) == a.size(2) && link.size(3) == a.size(3),
             "GatedLayer: link {} does not match the horizontal stack {}", link.shape(), a.shape());
    Tensor pre = a + link;
    if (classes > 0) pre = pre + label_bias(label_h, labels);
    Tensor out = (*conv_out)(gated_activation(pre));
    return first ? out : out + residual;
}

std::pair<Tensor, Tensor> GatedLayer::forward(const Tensor& v, const Tensor& h, const Tensor& labels) {
    Tensor vp = vertical_conv(v);
    const int64_t rows = v.size(2);
    return {vertical_gate(vp.slice(2, 1, rows + 1), labels), horizontal(h, link(vp.slice(2, 0, rows)), labels)};
}

std::string GatedLayer::extra_repr() const {
    const std::string base = fmt::format("in_channels={}, channels={}, kernel={}, mask={}, classes={}", in_channels,
                                         channels, kernel, first ? 'A' : 'B', classes);
    return colours == 1 ? base : fmt::format("{}, colours={}", base, colours);
}

}  // namespace mg::models
