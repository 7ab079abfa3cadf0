// Reading a model's JSON options (--config, or a checkpoint's config): one rule for every
// model. Unknown keys are refused with the known ones listed; a value of the wrong type is
// reported by key; absent keys keep the field's current value. Integer options (sizes,
// counts) are read only with a range, checked before any model computes a size from them.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/io/input.h"
#include "kernels/base.h"

namespace mg::models {

// Upper bounds of the size options: far above any model here, low enough that the product
// of a few (a weight's elements, a batch's bytes) stays far from overflowing int64.
constexpr int64_t kMaxWidth = 4096;              // channels, noise and latent dims
constexpr int64_t kMaxHidden = 65536;            // hidden units of an MLP
constexpr int64_t kMaxBatch = 65536;             // batch sizes
constexpr int64_t kMaxLayers = 256;
constexpr int64_t kMaxKernel = 31;
constexpr int64_t kMaxSteps = int64_t(1) << 40;  // step counts

class OptionReader {
public:
    // `what` opens every message ("vae options"); `known` is the options' to_json();
    // `also_known` are accepted keys that to_json() does not list (aliases such as "lr").
    OptionReader(std::string what, const nlohmann::json& options, const nlohmann::json& known,
                 std::initializer_list<std::string_view> also_known = {})
        : what_(std::move(what)), options_(options) {
        MG_CHECK(options.is_object(), "{}: expected a JSON object, got {}", what_, io::quote_short(options.dump()));
        for (auto it = options.begin(); it != options.end(); ++it) {
            bool ok = known.contains(it.key());
            for (std::string_view alias : also_known) ok = ok || it.key() == alias;
            if (ok) continue;
            std::string names;
            for (auto k = known.begin(); k != known.end(); ++k) names += (names.empty() ? "" : ", ") + k.key();
            MG_FAIL("{}: unknown option '{}' (known: {})", what_, io::quote_short(it.key()), names);
        }
    }

    bool contains(const char* key) const { return options_.contains(key); }

    // field = options[key] when present: a string (a name: at most kMaxName bytes), a bool
    // or a floating-point number.
    template <class T>
    void get(const char* key, T& field) const {
        static_assert(std::is_same_v<T, bool> || std::is_floating_point_v<T> || std::is_same_v<T, std::string>,
                      "integer options are read with a range: get(key, field, lo, hi)");
        if (!options_.contains(key)) return;
        const nlohmann::json& v = options_.at(key);
        // Checked here: nlohmann would turn true into 1.0 without a word.
        if constexpr (std::is_same_v<T, bool>) {
            MG_CHECK(v.is_boolean(), "{}: '{}' has the wrong type: expected true or false, got {}", what_, key, io::quote_short(v.dump()));
        } else if constexpr (std::is_floating_point_v<T>) {
            MG_CHECK(v.is_number(), "{}: '{}' has the wrong type: expected a number, got {}", what_, key, io::quote_short(v.dump()));
        } else {
            MG_CHECK(v.is_string(), "{}: '{}' has the wrong type: expected a string, got {}", what_, key, io::quote_short(v.dump()));
            MG_CHECK(v.get_ref<const std::string&>().size() <= kMaxName,
                     "{}: '{}' is {} bytes long, a name has at most {}: {}", what_, key,
                     v.get_ref<const std::string&>().size(), kMaxName, io::quote_short(v.get_ref<const std::string&>()));
        }
        field = v.get<T>();
    }

    // An integer option in [lo, hi]. A fraction (64.5) is refused; a float with an integer
    // value (64.0, as some JSON writers print integers) is read as that integer.
    void get(const char* key, int64_t& field, int64_t lo, int64_t hi) const {
        if (!options_.contains(key)) return;
        const nlohmann::json& v = options_.at(key);
        const std::string shown = io::quote_short(v.dump());
        MG_CHECK(v.is_number(), "{}: '{}' has the wrong type: expected an integer in [{}, {}], got {}", what_, key, lo, hi,
                 shown);
        int64_t value = 0;
        if (v.is_number_unsigned()) {
            const uint64_t u = v.get<uint64_t>();
            MG_CHECK(u <= uint64_t(hi), "{}: '{}' = {} is out of range [{}, {}]", what_, key, shown, lo, hi);
            value = int64_t(u);
        } else if (v.is_number_integer()) {
            value = v.get<int64_t>();
        } else {
            const double x = v.get<double>();
            MG_CHECK(std::floor(x) == x, "{}: '{}' must be an integer, got {}", what_, key, shown);
            // Compared as doubles: converting an out-of-range double to int64 is undefined.
            MG_CHECK(x >= double(lo) && x <= double(hi) && std::abs(x) < 0x1p63, "{}: '{}' = {} is out of range [{}, {}]",
                     what_, key, shown, lo, hi);
            value = int64_t(x);
        }
        MG_CHECK(value >= lo && value <= hi, "{}: '{}' = {} is out of range [{}, {}]", what_, key, shown, lo, hi);
        field = value;
    }

private:
    static constexpr size_t kMaxName = 256;

    std::string what_;
    const nlohmann::json& options_;
};

}  // namespace mg::models
