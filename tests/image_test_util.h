// Shared by the image data tests: the fixtures of tests/reference/fixtures/images and
// small file helpers.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/data/random_stream.h"
#include "core/io/image.h"
#include "core/io/image_decode.h"
#include "core/io/npy.h"
#include "helpers.h"

namespace mg::test {

inline std::string image_fixture(const std::string& name) {
    return std::string(MINIGEN_SOURCE_DIR) + "/tests/reference/fixtures/images/" + name;
}

// A uint8 .npy [H, W] or [H, W, C] as an image.
inline io::ImageU8 npy_image(const std::string& path) {
    Tensor t = io::read_npy(path);
    REQUIRE(t.dtype() == DType::UInt8);
    REQUIRE((t.dim() == 2 || t.dim() == 3));
    return {t.size(0), t.size(1), t.dim() == 3 ? t.size(2) : 1, t.to_vector<uint8_t>()};
}

inline std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

inline bool has(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Largest absolute difference and the mean one between two images of one shape.
inline std::pair<int, double> difference(const io::ImageU8& a, const io::ImageU8& b) {
    REQUIRE(a.height == b.height);
    REQUIRE(a.width == b.width);
    REQUIRE(a.channels == b.channels);
    int worst = 0;
    double sum = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) {
        const int d = std::abs(int(a.pixels[i]) - int(b.pixels[i]));
        worst = std::max(worst, d);
        sum += d;
    }
    return {worst, sum / double(a.pixels.size())};
}

// A PNG of h x w x c pseudo-random pixels (c = 1 or 3).
inline void make_png(const std::string& path, int64_t h, int64_t w, int64_t c, uint32_t seed) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::vector<uint8_t> px(size_t(h * w * c));
    data::RandomStream r(seed);
    for (auto& v : px) v = uint8_t(r.next_u32());
    io::write_png(path, from_vector(px, Shape{c, h, w}));
}

}  // namespace mg::test
