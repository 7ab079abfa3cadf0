#include "models/capabilities.h"

#include "core/random.h"
#include "models/registry.h"

namespace mg::models {

// Asks each registered model as built with its defaults: a capability can depend on the
// options (gated-pixelcnn-cond is conditional, gated-pixelcnn is not). Building one seeds
// the random stream, so the caller's is put back.
std::string models_that_can(const std::function<bool(Model&)>& can) {
    struct RestoreRng {
        GeneratorState saved = default_generator().state();
        ~RestoreRng() { default_generator().set_state(saved); }
    } restore;
    std::string names;
    for (const ModelInfo& info : all_models())
        if (can(*info.create(ModelConfig{}))) names += (names.empty() ? "" : ", ") + info.name;
    return names.empty() ? "none" : names;
}

}  // namespace mg::models
