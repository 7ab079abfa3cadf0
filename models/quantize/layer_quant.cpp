#include "models/quantize/layer_quant.h"

#include <algorithm>
#include <cmath>

#include "core/nn/conv.h"
#include "core/nn/linear.h"
#include "kernels/lowp.h"

namespace mg::models::quantize {

namespace {

// Scales below this are raised to it (PyTorch's observers clamp to float32's epsilon), so an
// all-zero channel or range still has a finite inverse.
constexpr float kMinScale = 1.1920929e-07f;

// The weight viewed as [outer, channels, inner] with `channels` its output channels.
kernels::QuantizeArgs weight_view(LayerOp op, const Tensor& w) {
    kernels::QuantizeArgs q;
    const int64_t c = output_channels(op, w);
    q.outer = op == LayerOp::ConvTranspose2d ? w.size(0) : 1;
    q.channels = c;
    q.inner = w.numel() / (q.outer * c);
    return q;
}

}  // namespace

const char* layer_op_name(LayerOp op) {
    switch (op) {
        case LayerOp::Linear: return "Linear";
        case LayerOp::Conv2d: return "Conv2d";
        case LayerOp::ConvTranspose2d: return "ConvTranspose2d";
    }
    return "?";
}

std::vector<QuantizableLayer> quantizable_layers(const std::vector<std::pair<std::string, nn::Module*>>& networks) {
    std::vector<QuantizableLayer> layers;
    for (const auto& [net, root] : networks)
        for (auto& [path, m] : root->named_modules()) {
            const std::string name = path.empty() ? net : net + "." + path;
            if (m->as<nn::Linear>()) layers.push_back({name, LayerOp::Linear, m});
            if (m->as<nn::MaskedConv2d>()) continue;
            auto* conv = m->as<nn::ConvBase>();
            if (!conv || conv->options.groups != 1) continue;
            layers.push_back({name, m->as<nn::ConvTranspose2d>() ? LayerOp::ConvTranspose2d : LayerOp::Conv2d, m});
        }
    return layers;
}

ActivationQuant activation_quant(float lo, float hi) {
    MG_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "activation range [{}, {}] is not a finite range",
             lo, hi);
    lo = std::min(lo, 0.f), hi = std::max(hi, 0.f);  // 0 (padding, ReLU's zeros) exactly representable
    ActivationQuant q;
    q.scale = std::max((hi - lo) / 255.f, kMinScale);
    q.zero_point = std::clamp(int32_t(-std::nearbyint(lo / q.scale)), 0, 255);
    return q;
}

const Tensor& layer_weight(const QuantizableLayer& layer) {
    if (auto* l = layer.module->as<nn::Linear>()) return l->weight;
    return layer.module->as<nn::ConvBase>()->weight;
}
const Tensor& layer_bias(const QuantizableLayer& layer) {
    if (auto* l = layer.module->as<nn::Linear>()) return l->bias;
    return layer.module->as<nn::ConvBase>()->bias;
}

std::shared_ptr<nn::ForwardHook>& layer_hook(const QuantizableLayer& layer) {
    if (auto* l = layer.module->as<nn::Linear>()) return l->hook;
    return layer.module->as<nn::ConvBase>()->hook;
}

int64_t output_channels(LayerOp op, const Tensor& weight) {
    return op == LayerOp::ConvTranspose2d ? weight.size(1) : weight.size(0);
}

std::vector<float> weight_scales(LayerOp op, const Tensor& weight) {
    const Tensor w = weight.contiguous();
    const kernels::QuantizeArgs v = weight_view(op, w);
    std::vector<float> amax(size_t(v.channels), 0.f);
    const float* p = w.data<float>();
    for (int64_t o = 0; o < v.outer; ++o)
        for (int64_t c = 0; c < v.channels; ++c)
            for (int64_t i = 0; i < v.inner; ++i)
                amax[size_t(c)] = std::max(amax[size_t(c)], std::abs(p[(o * v.channels + c) * v.inner + i]));
    for (float& a : amax) a = std::max(a / 127.f, kMinScale);
    return amax;
}

std::vector<int8_t> quantize_weight(LayerOp op, const Tensor& weight, const std::vector<float>& scales) {
    const Tensor w = weight.contiguous();
    kernels::QuantizeArgs q = weight_view(op, w);
    MG_CHECK(int64_t(scales.size()) == q.channels, "{}: {} weight scales for {} output channels", layer_op_name(op),
             scales.size(), q.channels);
    const std::vector<int32_t> zero(scales.size(), 0);
    q.scale = scales.data(), q.zero_point = zero.data(), q.to_signed = true;
    std::vector<int8_t> out(size_t(w.numel()));
    kernels::quantize_table().get(Device::CPU, DType::Float32)(q, w.data<float>(), out.data());
    return out;
}

}  // namespace mg::models::quantize
