// Post-training quantization of a model: calibrate, then scale every layer that sampling
// runs (models/quantize/calibration.h, layer_quant.h). `minigen quantize` (tools/cmd_quantize.cpp).
#pragma once

#include <string>
#include <vector>

#include "models/model.h"
#include "models/quantize/calibration.h"
#include "models/quantize/layer_quant.h"

namespace mg::models::quantize {

// The models whose sampling network int8 can run (Linear, Conv2d, ConvTranspose2d and float
// ops between them): the generators of dcgan, cgan, wgan-gp and the VAE decoders.
const std::vector<std::string>& quantizable_models();

// Calibrates `model` (loaded, on the CPU) and returns the quantization of each layer its
// sampling runs. Throws naming the model when it is not one of quantizable_models().
std::vector<LayerQuant> quantize_model(Model& model, const CalibOptions& options);

}  // namespace mg::models::quantize
