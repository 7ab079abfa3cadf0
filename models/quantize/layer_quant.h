// Post-training int8 quantization of one layer (Linear, Conv2d, ConvTranspose2d): the
// scales it runs with and the arithmetic that makes them.
//
//   input (activation): uint8, per tensor, affine: x ~ scale * (q - zero_point), the range
//                       [lo, hi] calibration found, widened to hold 0 (PyTorch's MinMaxObserver
//                       with quint8: scale = (hi - lo) / 255, zero_point = -round(lo / scale)).
//   weight:             int8, per output channel, symmetric: w ~ scale[c] * q, q in -127..127,
//                       scale[c] = max|w[c]| / 127.
// The output channel is axis 0 of a Linear [out, in] or Conv2d [out, in, kh, kw] weight and
// axis 1 of a ConvTranspose2d weight [in, out, kh, kw] (PyTorch's layout).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/nn/forward_hook.h"
#include "core/nn/module.h"

namespace mg::models::quantize {

enum class LayerOp { Linear, Conv2d, ConvTranspose2d };
const char* layer_op_name(LayerOp op);

struct ActivationQuant {
    float scale = 1.f;
    int32_t zero_point = 0;  // 0..255
};

struct LayerQuant {
    std::string name;  // network + module path: "G.fc", "G.net.2", "decoder.fc2"
    LayerOp op = LayerOp::Linear;
    ActivationQuant input;
    std::vector<float> weight_scale;  // [output channels]
};

// A layer int8 can run: its name, op and module (owned by the model).
struct QuantizableLayer {
    std::string name;
    LayerOp op;
    nn::Module* module;
};
// Every Linear, Conv2d (not MaskedConv2d) and ConvTranspose2d with groups = 1 of the given
// networks, in registration order.
std::vector<QuantizableLayer> quantizable_layers(const std::vector<std::pair<std::string, nn::Module*>>& networks);

// The uint8 affine quantization of the range [lo, hi] (lo <= hi, both finite).
ActivationQuant activation_quant(float lo, float hi);

// The weight of a quantizable layer, and its per-output-channel scales.
const Tensor& layer_weight(const QuantizableLayer& layer);
const Tensor& layer_bias(const QuantizableLayer& layer);
// The layer's hook (nn::Linear::hook, nn::ConvBase::hook): calibration and int8 set it.
std::shared_ptr<nn::ForwardHook>& layer_hook(const QuantizableLayer& layer);
int64_t output_channels(LayerOp op, const Tensor& weight);
std::vector<float> weight_scales(LayerOp op, const Tensor& weight);
// The int8 weight (same layout as `weight`) under `scales`, by the quantize kernel's rounding.
std::vector<int8_t> quantize_weight(LayerOp op, const Tensor& weight, const std::vector<float>& scales);

}  // namespace mg::models::quantize
