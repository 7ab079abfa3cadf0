#include "models/registry.h"

#include "models/families.h"

namespace mg::models {

const std::vector<ModelInfo>& all_models() {
    static const std::vector<ModelInfo> models = [] {
        std::vector<ModelInfo> all;
        for (auto family : {gan2d_models, image_gan_models, vae_models, pixelcnn_models, classifier_models,
                            pix2pix_models, style_models, cyclegan_models, progan_models})
            for (auto& m : family()) all.push_back(std::move(m));
        // A bad option is reported with the file it came from; a bug is refused by a model
        // it does not apply to.
        for (ModelInfo& m : all)
            m.create = [create = std::move(m.create), name = m.name](const ModelConfig& config) {
                check_bug_applies(config.bug, name);
                if (config.options_source.empty()) return create(config);
                try {
                    return create(config);
                } catch (const Error& e) {
                    throw Error(fmt::format("{}: {}", config.options_source, e.what()));
                }
            };
        return all;
    }();
    return models;
}

const ModelInfo& find_model(const std::string& name) {
    std::string known;
    for (const ModelInfo& m : all_models()) {
        if (m.name == name) return m;
        known += (known.empty() ? "" : ", ") + m.name;
    }
    MG_FAIL("unknown model '{}' (known: {})", name, known);
}

}  // namespace mg::models
