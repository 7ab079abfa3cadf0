// Checkpoints: everything needed to resume training, in one safetensors file.
//
//   tensors   "model.<name>"   model state (parameters and buffers, nn state_dict names)
//             "optim.<name>"   optimizer state (optim::Optimizer::state_dict() keys)
//             "extra.<name>"   anything else: EMA shadows, scheduler state, ...
//   metadata  "minigen.format" = "checkpoint", "minigen.format_version" = "1",
//             "minigen.step", "minigen.rng_seed", "minigen.rng_offset": decimal integers
//             (exact for all 64 bits, unlike a float, and readable in the header),
//             and the caller's own string entries (model name, JSON config, ...);
//             keys starting with "minigen." are reserved.
//
// The file is written atomically (core/io/safetensors.h): a crash while saving leaves
// the previous checkpoint intact. PyTorch users read it with tools/read_checkpoint.py,
// or with safetensors.torch.load_file (the "model." entries are a torch state_dict
// once the prefix is stripped). See docs/checkpoints.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/random.h"

namespace mg::io {

struct Checkpoint {
    TensorMap model;      // names without the "model." prefix, e.g. "fc.weight"
    TensorMap optimizer;  // names without the "optim." prefix, e.g. "state.3.exp_avg"
    TensorMap extra;      // names without the "extra." prefix
    int64_t step = 0;     // training steps taken
    GeneratorState rng;   // default_generator().state() when saved
    Metadata metadata;    // free-form strings: "model_name", "config", ...
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Validates the whole file (as load_safetensors) and the checkpoint layout; throws
// mg::Error naming the file and the entry at fault.
Checkpoint load_checkpoint(const std::string& path);

// Copies source[name] into destination[name] for every name, all or nothing: first
// checks that both hold the same names (listing what is missing and what is extra)
// with the same shapes and dtypes, then copies (across devices if need be, without
// recording a graph). On error no destination tensor has changed. `context` starts
// the error messages (e.g. the checkpoint's path).
void load_into(const TensorMap& destination, const TensorMap& source, const std::string& context);

}  // namespace mg::io
