// The one table from nn module kinds to ONNX nodes (onnx_modules.cpp). Only built with
// MINIGEN_ONNX.
#pragma once

#include <string>

#include "core/nn/module.h"
#include "models/export/onnx_graph.h"

namespace mg::models::onnx_export {

// Emits `module` (an eval-mode module named `prefix` in the network's state_dict: its weights
// become the initializers "<prefix>.weight", ...) applied to the value `x`; returns the name
// of its output. A module kind without a mapping: "export: model '<model>' uses <Kind> (at
// '<prefix>') which has no ONNX form yet".
std::string emit_module(Graph& graph, nn::Module& module, const std::string& prefix, const std::string& x,
                        const std::string& model);

}  // namespace mg::models::onnx_export
