// An int8 checkpoint: a training checkpoint (float weights, as trained) plus what
// post-training quantization found, so that `sample`, `eval` and `export` load it like any
// other and run its quantized layers on the int8 kernels (models/trainer.cpp calls
// read/install here).
//
//   metadata "quantization": {"dtype": "int8", "model": "dcgan", "method": "minmax",
//       "percentile": 99.99, "calib_batches": 8, "calib_batch_size": 64,
//       "layers": [{"name": "G.fc", "op": "Linear", "input_scale": 0.0201,
//                   "input_zero_point": 127}, ...]}
//   tensors  "extra.quant.<layer>.weight_scale": float32 [output channels]
//
// The int8 weights are not stored: they are a function of the float weight and its scales
// (the quantize kernel's rounding, kernels/lowp.h), made once at load. So the file stays a
// plain checkpoint for every reader (PyTorch's safetensors, the float ONNX export), at the
// float weights' size.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "models/model.h"
#include "models/quantize/layer_quant.h"

namespace mg::models::quantize {

inline constexpr const char* kQuantizationKey = "quantization";

// Adds the record of `layers` (and `calibration`: method, batches, ...) to `ck`.
void record_quantization(io::Checkpoint& ck, const std::string& model_name, const std::vector<LayerQuant>& layers,
                         const nlohmann::json& calibration);

// The quantized layers `ck` records (empty when it is not quantized), checked: every field
// there and in range; throws naming `path` and the layer otherwise.
std::vector<LayerQuant> read_quantization(const io::Checkpoint& ck, const std::string& path);

using MatchedLayers = std::vector<std::pair<QuantizableLayer, LayerQuant>>;
// The checkpoint's quantized layers, each with the model's layer of its name (empty when
// `ck` is not quantized). Throws naming `path` when it was quantized for another model, or a
// layer is missing, of another op, of another size, or not on the CPU. Changes nothing.
MatchedLayers match_quantized_layers(Model& model, const io::Checkpoint& ck, const std::string& path);

// Puts the int8 forward on each matched layer (after the float weights are loaded).
void install_int8(const MatchedLayers& matched);

}  // namespace mg::models::quantize
