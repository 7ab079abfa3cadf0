// Reading a model's JSON options (--config, or a checkpoint's config): one rule for every
// model. Unknown keys are refused with the known ones listed; a value of the wrong type is
// reported by key; absent keys keep the field's current value.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "kernels/base.h"

namespace mg::models {

class OptionReader {
public:
    // `what` opens every message ("vae options"); `known` is the options' to_json();
    // `also_known` are accepted keys that to_json() does not list (aliases such as "lr").
    OptionReader(std::string what, const nlohmann::json& options, const nlohmann::json& known,
                 std::initializer_list<std::string_view> also_known = {})
        : what_(std::move(what)), options_(options) {
        MG_CHECK(options.is_object(), "{}: expected a JSON object, got {}", what_, options.dump());
        for (auto it = options.begin(); it != options.end(); ++it) {
            bool ok = known.contains(it.key());
            for (std::string_view alias : also_known) ok = ok || it.key() == alias;
            if (ok) continue;
            std::string names;
            for (auto k = known.begin(); k != known.end(); ++k) names += (names.empty() ? "" : ", ") + k.key();
            MG_FAIL("{}: unknown option '{}' (known: {})", what_, it.key(), names);
        }
    }

    // field = options[key] when present.
    template <class T>
    void get(const char* key, T& field) const {
        if (!options_.contains(key)) return;
        try {
            field = options_.at(key).get<std::decay_t<T>>();
        } catch (const nlohmann::json::exception&) {
            MG_FAIL("{}: '{}' has the wrong type: {}", what_, key, options_.at(key).dump());
        }
    }

private:
    std::string what_;
    const nlohmann::json& options_;
};

}  // namespace mg::models
