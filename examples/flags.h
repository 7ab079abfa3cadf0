// What the examples share, so that each file is about its lesson: "--name value" flags and
// main()'s error handling. Bad input is an mg::Error naming the flag and the value; main
// prints it as one line and exits 2, as the minigen CLI does.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "core/io/input.h"
#include "kernels/base.h"

namespace examples {

class Flags {
public:
    // argv: "--name value" pairs, each name one of `known`, or "--help" (prints `usage`).
    Flags(int argc, char** argv, std::string_view usage, std::initializer_list<std::string_view> known) {
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                std::printf("%.*s\n", int(usage.size()), usage.data());
                help_ = true;
                return;
            }
            bool is_known = false;
            for (std::string_view name : known) is_known = is_known || arg == "--" + std::string(name);
            MG_CHECK(is_known, "unknown argument '{}' (see --help)", mg::io::quote_short(arg));
            MG_CHECK(i + 1 < argc, "{} needs a value (see --help)", arg);
            values_[std::string(arg.substr(2))] = argv[++i];
        }
    }

    bool help() const { return help_; }

    std::string get(const std::string& name, const std::string& fallback) const {
        auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    bool has(const std::string& name) const { return values_.count(name) != 0; }

    // An integer in [low, high].
    int64_t get_int(const std::string& name, int64_t fallback, int64_t low, int64_t high) const {
        auto it = values_.find(name);
        if (it == values_.end()) return fallback;
        const std::string& text = it->second;
        int64_t value = 0;
        auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
        MG_CHECK(err == std::errc() && end == text.data() + text.size() && value >= low && value <= high,
                 "--{} '{}': expected an integer in [{}, {}]", name, mg::io::quote_short(text), low, high);
        return value;
    }

private:
    std::map<std::string, std::string> values_;
    bool help_ = false;
};

// Runs an example's body: mg::Error -> one line on stderr and exit status 2.
template <class Body> int run(const char* program, Body&& body) {
    try {
        return body();
    } catch (const mg::Error& e) {
        std::fprintf(stderr, "%s: error: %s\n", program, e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s\n", program, e.what());
        return 1;
    }
}

}  // namespace examples
