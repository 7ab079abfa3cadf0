// Flags every model command shares (--batch-size, --lr, --seed, --device, --threads,
// --data, --config), and turning them into a ModelConfig.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "models/model.h"

namespace mg::tools {

struct CommonModelArgs {
    int64_t batch_size = 0;
    double lr = 0;
    uint64_t seed = 0;
    bool seed_given = false;  // --seed on the command line (a resumed run keeps its own otherwise)
    std::string device = "cpu";
    std::string amp = "off";  // cuda only: "tf32" or "bf16" tensor-core multiplies in matmul and conv
    int threads = 0;
    std::optional<std::string> data_dir;
    std::string config_file;
    bool allow_nonfinite = false;  // --allow-nonfinite
};

void add_common_model_args(CLI::App& cmd, CommonModelArgs& a);
// Reads --config (a JSON object of the model's options) and checks --device.
models::ModelConfig make_model_config(const CommonModelArgs& a);
// The options a checkpoint was trained with (its "config" metadata), for rebuilding the model.
models::ModelConfig config_from_checkpoint(const std::string& path, const CommonModelArgs& a,
                                           std::string* model_name);

}  // namespace mg::tools
