// Reading input that someone else may have written: files that must be regular files
// (a FIFO would block forever, a directory or a symlink loop is a user error), text of a
// bounded size, and JSON of bounded nesting. Every failure is an mg::Error that names the
// file (or what the text is) and what is wrong; nothing here aborts or recurses on input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mg::io {

// Throws unless `path` names an existing regular file (symlinks followed). `what` opens
// the message ("--config", "checkpoint"): "--config /tmp/x: is a FIFO, not a regular file".
void require_regular_file(const std::string& path, std::string_view what);

// The whole file as bytes, after require_regular_file; refuses files over max_bytes.
std::string read_text_file(const std::string& path, std::string_view what, uint64_t max_bytes = 64ull << 20);

struct JsonLimits {
    int max_depth = 64;                 // nesting of arrays and objects
    uint64_t max_bytes = 64ull << 20;   // length of the text
};

// Parses JSON after checking its nesting depth with a flat scan (the parser and the
// destructor of a deeply nested value recurse). Any failure (syntax, depth, a number out
// of range such as 1e400) is an mg::Error starting with `what`.
nlohmann::json parse_json(std::string_view text, std::string_view what, JsonLimits limits = {});

// The deepest nesting of arrays/objects in JSON text, strings skipped (0 for a scalar).
int json_depth(std::string_view text);

// Input quoted back in a message, cut to `max_chars` with "... (N bytes)" after it.
std::string quote_short(std::string_view text, size_t max_chars = 60);

}  // namespace mg::io
