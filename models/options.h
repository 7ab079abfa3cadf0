// A model's JSON options (--config, or a checkpoint's config): one rule for every model.
// Unknown keys are refused with the known ones listed; a value of the wrong type is
// reported by key; absent keys keep the field's current value. Integer options (sizes,
// counts) are read only with a range, checked before any model computes a size from them.
//
// Each option is declared once, in its struct's fields() (key, member, and for an integer
// its range, for an enum its names), and both directions follow from that list:
//
//   template <class Self, class F> static void fields(Self& o, F&& f) {
//       f("z_dim", o.z_dim, IntRange{1, kMaxWidth});
//       f("loss", o.loss, Names<GanLoss>{parse_gan_loss, gan_loss_name});
//       f("lr_g", o.lr_g);
//   }
//   options_to_json(o)        {"z_dim": 100, "loss": "bce", "lr_g": 0.0002}: config.json and
//                             the checkpoint's recorded options
//   read_options(o, reader)   every field present in the reader's JSON, checked
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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

// An enum's names, declared once: parse() and name() both read the table.
//   constexpr NameTable<GanLoss, 2> kLosses{"gan: unknown loss", {{{"bce", GanLoss::Bce}, {"hinge", GanLoss::Hinge}}}};
//   kLosses.parse("hinge") == GanLoss::Hinge; kLosses.parse("x") throws "gan: unknown loss 'x' (bce, hinge)"
template <class E, size_t N>
struct NameTable {
    const char* unknown;  // opens the message for a name not in the table
    std::array<std::pair<const char*, E>, N> entries;

    E parse(const std::string& name) const {
        std::string known;
        for (const auto& [n, value] : entries) {
            if (name == n) return value;
            known += (known.empty() ? "" : ", ") + std::string(n);
        }
        MG_FAIL("{} '{}' ({})", unknown, io::quote_short(name), known);
    }
    std::string name(E value) const {
        for (const auto& [n, v] : entries)
            if (v == value) return n;
        return "?";
    }
};

// The range of an integer option, and the names of an enum option.
struct IntRange {
    int64_t lo, hi;
};
template <class E>
struct Names {
    E (*parse)(const std::string&);  // throws naming the choices
    std::string (*name)(E);
};

// The two directions of a fields() list.
struct OptionWriter {
    nlohmann::json& json;
    template <class T>
    void operator()(const char* key, const T& value) const { json[key] = value; }
    void operator()(const char* key, const int64_t& value, IntRange) const { json[key] = value; }
    template <class E>
    void operator()(const char* key, const E& value, Names<E> names) const { json[key] = names.name(value); }
};
struct OptionFieldReader {
    const OptionReader& reader;
    template <class T>
    void operator()(const char* key, T& value) const { reader.get(key, value); }
    void operator()(const char* key, int64_t& value, IntRange range) const {
        reader.get(key, value, range.lo, range.hi);
    }
    template <class E>
    void operator()(const char* key, E& value, Names<E> names) const {
        if (!reader.contains(key)) return;
        std::string name;
        reader.get(key, name);
        value = names.parse(name);
    }
};

// The options of `o` as JSON, one key per field.
template <class Options>
nlohmann::json options_to_json(const Options& o) {
    nlohmann::json json = nlohmann::json::object();
    Options::fields(o, OptionWriter{json});
    return json;
}

// Reads every field of `o` present in `reader`'s JSON (whose keys the reader has checked).
template <class Options>
void read_options(Options& o, const OptionReader& reader) {
    Options::fields(o, OptionFieldReader{reader});
}

}  // namespace mg::models
