// The one registry of models: `minigen train NAME` looks models up here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace mg::models {

struct ModelInfo {
    std::string name;
    std::string description;
    // Errors name config.options_source first, when there is one.
    std::function<std::unique_ptr<Model>(const ModelConfig&)> create;
    int64_t default_epochs = 1;  // what `minigen train NAME` runs without --epochs/--steps
    int64_t default_steps = 0;   // > 0: a step budget instead of epochs (gan2d)
    bool image_data = false;     // trains on any image data set (the "data" option, --data)
};

const std::vector<ModelInfo>& all_models();
// Throws mg::Error listing the known names when `name` is unknown.
const ModelInfo& find_model(const std::string& name);

}  // namespace mg::models
