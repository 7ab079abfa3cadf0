// The int8 forward of a quantized layer, installed as the layer's nn::ForwardHook: the
// input is quantized to uint8 with the layer's calibrated scale, the int8 weight (made
// once, here) meets it in the int8 GEMM or convolution kernels (kernels/lowp.h), and the
// output comes back float32 with the bias added. CPU, inference only (no gradient).
#pragma once

#include <memory>

#include "core/nn/forward_hook.h"
#include "models/quantize/layer_quant.h"

namespace mg::models::quantize {

// What every int8 layer runs with: the weight quantized once (the float weight's layout), its
// per-output-channel scales, the float bias, the input's quantization. The QDQ export
// (models/export/onnx_modules.cpp) writes these.
class Int8Forward : public nn::ForwardHook {
public:
    Int8Forward(const QuantizableLayer& layer, const LayerQuant& quant);
    const std::string& name() const { return name_; }
    LayerOp op() const { return op_; }
    const ActivationQuant& input() const { return input_; }
    const std::vector<int8_t>& weight() const { return weight_; }
    const std::vector<float>& weight_scale() const { return weight_scale_; }

protected:
    std::string name_;
    LayerOp op_;
    ActivationQuant input_;
    std::vector<int8_t> weight_;
    std::vector<float> weight_scale_, bias_;  // bias_ empty: none
};

std::shared_ptr<Int8Forward> make_int8_forward(const QuantizableLayer& layer, const LayerQuant& quant);

// x (float32, CPU) quantized to uint8 with q: what every int8 layer feeds its kernel.
std::vector<uint8_t> quantize_input(const Tensor& x, const ActivationQuant& q);

}  // namespace mg::models::quantize
