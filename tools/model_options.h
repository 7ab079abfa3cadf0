// Flags every model command shares (--batch-size, --lr, --seed, --device, --threads,
// --data, --config), and turning them into a ModelConfig.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "models/model.h"
#include "models/registry.h"

namespace mg::tools {

struct CommonModelArgs {
    int64_t batch_size = 0;
    double lr = 0;
    uint64_t seed = 0;
    bool seed_given = false;  // --seed on the command line (a resumed run keeps its own otherwise)
    std::string device = "cpu";
    std::string amp = "off";  // cuda only: "tf32" or "bf16" tensor-core multiplies in matmul and conv
    int threads = 0;
    std::optional<std::string> data_dir;  // Fashion-MNIST's directory (--data DIR or fashion-mnist:DIR)
    std::string data;                     // --data as given ("" when not)
    int64_t image_size = 0;               // --image-size (0: not given)
    int64_t channels = 0;                 // --channels (0: not given)
    bool skip_bad = false;                // --skip-bad
    std::string config_file;
    bool allow_nonfinite = false;  // --allow-nonfinite
};

void add_common_model_args(CLI::App& cmd, CommonModelArgs& a);
// "dcgan, cgan, ...": the models that train on any image data set (the registry's image_data).
std::string image_data_models();
// Reads --config (a JSON object of the model's options), checks --device, and puts an image
// data set's --data, --image-size, --channels and --skip-bad into the options ("data", ...).
models::ModelConfig make_model_config(const CommonModelArgs& a);
// Refuses --data with an image data set, --image-size, --channels and --skip-bad for a model
// that trains on Fashion-MNIST only.
void check_model_takes_data(const models::ModelInfo& info, const CommonModelArgs& a);
// The options a checkpoint was trained with (its "config" metadata), for rebuilding the model.
// A --data, --image-size or --channels that contradicts what it recorded is an error.
models::ModelConfig config_from_checkpoint(const std::string& path, const CommonModelArgs& a,
                                           std::string* model_name);

}  // namespace mg::tools
