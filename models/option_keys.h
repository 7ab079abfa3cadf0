// Splitting one options object between the structs that read it: a model's options JSON holds
// the image data's keys (ImageDataOptions), a family's own and the rest; each struct takes its
// keys out, so that the last reader's OptionReader refuses whatever no struct claimed.
#pragma once

#include <nlohmann/json.hpp>

namespace mg::models {

// The entries of `options` whose keys `known` has, removed from `options` and returned.
inline nlohmann::json take_option_keys(nlohmann::json& options, const nlohmann::json& known) {
    nlohmann::json mine = nlohmann::json::object();
    for (auto it = known.begin(); it != known.end(); ++it)
        if (options.contains(it.key())) {
            mine[it.key()] = options[it.key()];
            options.erase(it.key());
        }
    return mine;
}

}  // namespace mg::models
