// SHA-256 (FIPS 180-4): the content hash that names a frozen set of weights, so that
// metrics computed with different reference networks are never compared by mistake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mg::io {

// Lower-case hex digest (64 characters) of `size` bytes.
std::string sha256_hex(const void* data, size_t size);
// Of a file's bytes; throws naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace mg::io
