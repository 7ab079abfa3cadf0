// ONNX export of a sampling network (models/export/sampling_network.h), float32.
//
//   inputs   z       float32 [N, z_dim]
//            labels  int64 [N]            (class-conditional models only)
//   output   image   float32 [N, C, S, S] (the samples: tanh range for GANs, sigmoid for VAEs)
//
// Opset 17 of the default domain (ONNX 1.12 writes and checks it; ONNX Runtime runs it
// from 1.13 on), IR version 8. The file is built with the ONNX library's own protobuf
// classes (libonnx-dev); a build without them still has export_onnx, which then says what is
// missing. Each nn module becomes ONNX nodes through one table (onnx_modules.cpp); its
// weights become initializers named as the network's state_dict names them ("fc.weight",
// "net.1.running_mean"). A module kind without a mapping is refused, naming it:
//   export: model 'gated-pixelcnn' uses GatedLayer which has no ONNX form yet
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/export/sampling_network.h"

namespace mg::models {

constexpr int64_t kOnnxOpset = 17;

// Whether this build writes ONNX files (built with MINIGEN_ONNX); the check throws an mg::Error
// saying what is missing when it does not.
bool onnx_export_available();
void check_onnx_export_available();

struct OnnxExportSummary {
    int64_t nodes = 0, initializers = 0, parameters = 0;  // parameters: elements of all initializers
    std::vector<std::string> op_types;                    // each ONNX op used, in order of first use
    int64_t bytes = 0;                                    // the file's size
};

// Writes the network to `path` (atomically: a failed export leaves no file and keeps an old
// one). The network is walked in eval mode and left in the mode it had.
OnnxExportSummary export_onnx(const SamplingNetwork& net, const std::string& path);

}  // namespace mg::models
