// A small safetensors reader for the test fixtures (tests/reference/fixtures/).
//
// Layout: an 8-byte little-endian header length n, n bytes of JSON
//   {"__metadata__": {"key": "value"}, "name": {"dtype": "F32", "shape": [2, 3],
//    "data_offsets": [begin, end]}, ...}
// and then the data, offsets relative to its start. F32, F64 and I64 only.
// Errors are mg::Error naming the file and the entry at fault.
#pragma once

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mg::test {

struct Fixture {
    std::string path;
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;

    bool has(const std::string& name) const { return tensors.count(name) != 0; }
    const Tensor& at(const std::string& name) const {
        auto it = tensors.find(name);
        MG_CHECK(it != tensors.end(), "fixture {}: no tensor '{}'", path, name);
        return it->second;
    }
    std::string meta(const std::string& key) const {
        auto it = metadata.find(key);
        MG_CHECK(it != metadata.end(), "fixture {}: no metadata '{}'", path, key);
        return it->second;
    }
};

inline Fixture read_fixture(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    MG_CHECK(in.good(), "fixture {}: cannot open the file", path);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    MG_CHECK(bytes.size() >= 8, "fixture {}: {} bytes, too short for a header length", path, bytes.size());
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    MG_CHECK(n <= bytes.size() - 8, "fixture {}: header length {} exceeds the file ({} bytes)", path, n, bytes.size());
    const char* data = bytes.data() + 8 + n;
    const uint64_t data_size = bytes.size() - 8 - n;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + int64_t(n));
    } catch (const nlohmann::json::exception& e) {
        MG_FAIL("fixture {}: header is not valid JSON: {}", path, e.what());
    }
    MG_CHECK(header.is_object(), "fixture {}: header is not a JSON object", path);

    Fixture f;
    f.path = path;
    for (auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            for (auto& [key, value] : entry.items()) {
                MG_CHECK(value.is_string(), "fixture {}: metadata '{}' is not a string", path, key);
                f.metadata[key] = value.get<std::string>();
            }
            continue;
        }
        MG_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                     entry.contains("data_offsets"),
                 "fixture {}: entry '{}' needs dtype, shape and data_offsets", path, name);
        std::string dt = entry["dtype"].get<std::string>();
        DType dtype = dt == "F32" ? DType::Float32 : dt == "F64" ? DType::Float64 : DType::Int64;
        MG_CHECK(dt == "F32" || dt == "F64" || dt == "I64", "fixture {}: entry '{}' has unsupported dtype {}", path,
                 name, dt);
        Shape shape;
        for (auto& d : entry["shape"]) {
            MG_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, "fixture {}: entry '{}' has a bad shape {}",
                     path, name, entry["shape"].dump());
            shape.push_back(d.get<int64_t>());
        }
        auto offsets = entry["data_offsets"];
        MG_CHECK(offsets.is_array() && offsets.size() == 2, "fixture {}: entry '{}' has bad data_offsets", path, name);
        uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
        uint64_t expected = uint64_t(shape.numel() * dtype_size(dtype));
        MG_CHECK(begin <= end && end <= data_size && end - begin == expected,
                 "fixture {}: entry '{}' ({} {}) has data_offsets [{}, {}] in a data section of {} bytes", path,
                 name, dt, shape, begin, end, data_size);
        Tensor t = empty(shape, {dtype});
        if (expected > 0) std::memcpy(t.raw_data(), data + begin, expected);  // little-endian host
        f.tensors[name] = t;
    }
    return f;
}

}  // namespace mg::test
