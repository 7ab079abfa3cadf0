// PNG images: round trips, the grid layout (tiles, borders, upscaling, value
// mapping) against a pixel-by-pixel reference, and the errors for bad files.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/io/image.h"
#include "helpers.h"

using namespace mg;
using namespace mg::io;
using namespace mg::test;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> pseudo_random_bytes(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed;
    for (auto& b : v) {
        x = x * 1664525u + 1013904223u;
        b = uint8_t(x >> 24);
    }
    return v;
}

}  // namespace

TEST_CASE("png: write and read back, grey and RGB") {
    TempDir dir;
    for (int64_t c : {1, 3}) {
        std::vector<uint8_t> px = pseudo_random_bytes(size_t(c * 5 * 7), uint32_t(c));
        Tensor image = from_vector(px, Shape{1, c, 5, 7});
        std::string path = dir / fmt::format("image{}.png", c);
        write_png(path, image);
        Tensor back = read_png(path);
        CHECK(back.dtype() == DType::UInt8);
        CHECK(back.shape() == Shape{1, c, 5, 7});
        CHECK(back.to_vector<uint8_t>() == px);
        // As floats in [0, 1] and in [-1, 1].
        std::vector<float> f = read_png(path, DType::Float32).to_vector<float>();
        std::vector<float> g = read_png(path, DType::Float32, -1.0, 1.0).to_vector<float>();
        for (size_t i = 0; i < px.size(); ++i) {
            CHECK(f[i] == doctest::Approx(px[i] / 255.0).epsilon(1e-6));
            CHECK(g[i] == doctest::Approx(2.0 * px[i] / 255.0 - 1.0).epsilon(1e-6));
        }
    }
    // A 3-D [C, H, W] image is accepted too; overwriting an existing file works and leaves no temporaries.
    Tensor small = from_vector<uint8_t>({0, 255, 7, 9}, Shape{1, 2, 2});
    write_png(dir / "image1.png", small);
    CHECK(read_png(dir / "image1.png").to_vector<uint8_t>() == std::vector<uint8_t>{0, 255, 7, 9});
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        CHECK(entry.path().extension() == ".png");
        ++files;
    }
    CHECK(files == 2);
}

// The reference layout, one pixel at a time: which tile (and which source pixel) or border.
static uint8_t reference_grid_pixel(const std::vector<uint8_t>& px, int64_t N, int64_t H, int64_t W, int64_t nrow,
                                    int64_t scale, int64_t border, uint8_t border_value, int64_t gy, int64_t gx) {
    const int64_t pitch_y = H * scale + border, pitch_x = W * scale + border;
    if (gy < border || gx < border) return border_value;
    const int64_t row = (gy - border) / pitch_y, col = (gx - border) / pitch_x;
    const int64_t y = (gy - border) % pitch_y, x = (gx - border) % pitch_x;
    if (y >= H * scale || x >= W * scale || col >= nrow) return border_value;
    const int64_t tile = row * nrow + col;
    if (tile >= N) return border_value;
    return px[size_t(tile * H * W + (y / scale) * W + x / scale)];
}

TEST_CASE("png grid: tile positions, borders, empty slots and upscaling") {
    const int64_t N = 5, H = 2, W = 3;
    std::vector<uint8_t> px = pseudo_random_bytes(size_t(N * H * W), 7);
    Tensor images = from_vector(px, Shape{N, 1, H, W});
    for (int64_t scale : {1, 3}) {
        for (int64_t border : {0, 1, 4}) {
            GridOptions opt;
            opt.nrow = 2;
            opt.scale = scale;
            opt.border = border;
            opt.border_color = {200, 200, 200};
            Tensor grid = make_grid(images, opt);
            const int64_t gh = 3 * (H * scale + border) + border, gw = 2 * (W * scale + border) + border;
            REQUIRE(grid.shape() == Shape{1, gh, gw});
            std::vector<uint8_t> g = grid.to_vector<uint8_t>();
            int mismatches = 0;
            for (int64_t y = 0; y < gh; ++y)
                for (int64_t x = 0; x < gw; ++x)
                    mismatches += g[size_t(y * gw + x)] !=
                                  reference_grid_pixel(px, N, H, W, 2, scale, border, 200, y, x);
            CHECK_MESSAGE(mismatches == 0, "scale " << scale << " border " << border);
        }
    }
    // Spot checks by hand for nrow 2, scale 1, border 1: tile 3 (row 1, col 1) starts at (1 + 3, 1 + 4).
    GridOptions opt;
    opt.nrow = 2;
    opt.border = 1;
    std::vector<uint8_t> g = make_grid(images, opt).to_vector<uint8_t>();
    const int64_t gw = 2 * 4 + 1;
    CHECK(g[size_t(4 * gw + 5)] == px[3 * 6 + 0]);
    CHECK(g[size_t(5 * gw + 7)] == px[3 * 6 + 5]);
    CHECK(g[size_t(0 * gw + 0)] == 128);             // outer border, default grey
    CHECK(g[size_t(7 * gw + 5)] == 128);             // tile 5 does not exist: border colour
    CHECK(g[size_t(7 * gw + 1)] == px[4 * 6 + 0]);   // tile 4 at row 2, col 0

    // Fewer images than nrow: the grid is only as wide as the images.
    opt.nrow = 8;
    CHECK(make_grid(images, opt).shape() == Shape{1, 4, 5 * 4 + 1});
}

TEST_CASE("png grid: float ranges, colour borders, RGB images, written file") {
    // [-1, 1] -> [0, 255]: ends, middle, clamping, NaN.
    Tensor f = from_vector<float>({-1.f, 1.f, 0.f, -3.f, 2.f, std::nanf("")}, Shape{1, 1, 1, 6});
    GridOptions opt;
    opt.border = 0;
    CHECK(make_grid(f, opt).to_vector<uint8_t>() == std::vector<uint8_t>{0, 255, 128, 0, 255, 0});
    opt.lo = 0.0;
    opt.hi = 2.0;
    CHECK(make_grid(f, opt).to_vector<uint8_t>() == std::vector<uint8_t>{0, 128, 0, 0, 255, 0});

    // A red border makes grey images RGB: every channel holds the pixels, the border is (255, 0, 0).
    Tensor grey = from_vector<uint8_t>({10, 20, 30, 40}, Shape{1, 1, 2, 2});
    GridOptions red;
    red.border = 1;
    red.border_color = {255, 0, 0};
    Tensor rgb = make_grid(grey, red);
    REQUIRE(rgb.shape() == Shape{3, 4, 4});
    std::vector<uint8_t> v = rgb.to_vector<uint8_t>();
    for (int c = 0; c < 3; ++c) {
        CHECK(v[size_t(c * 16 + 0)] == (c == 0 ? 255 : 0));
        CHECK(v[size_t(c * 16 + 5)] == 10);
        CHECK(v[size_t(c * 16 + 10)] == 40);
    }
    // RGB images keep their channels.
    Tensor colour = from_vector<uint8_t>({1, 2, 3}, Shape{1, 3, 1, 1});
    opt = GridOptions{};
    opt.border = 0;
    CHECK(make_grid(colour, opt).to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3});

    TempDir dir;
    Tensor batch = rand({10, 1, 4, 4}, {}, -1.0, 1.0);
    GridOptions big;
    big.nrow = 4;
    big.scale = 2;
    write_png_grid(dir / "grid.png", batch, big);
    Tensor back = read_png(dir / "grid.png");
    CHECK(back.shape() == Shape{1, 1, 3 * 10 + 2, 4 * 10 + 2});
    CHECK(back.to_vector<uint8_t>() == make_grid(batch, big).to_vector<uint8_t>());
}

TEST_CASE("png: errors name the file") {
    TempDir dir;
    Tensor image = zeros({1, 1, 2, 2}, {DType::UInt8});
    std::string e = error_of([&] { write_png(dir / "no/such/dir/x.png", image); });
    CHECK(contains(e, "no/such/dir/x.png"));
    CHECK(contains(e, "does not exist"));
    e = error_of([&] { write_png_grid("/proc/minigen-test.png", image); });
    CHECK(contains(e, "/proc/minigen-test.png"));

    e = error_of([&] { read_png(dir / "missing.png"); });
    CHECK(contains(e, "missing.png"));
    CHECK(contains(e, "no such file"));

    {
        std::ofstream text(dir / "text.png");
        text << "GIF89a, not a png";
    }
    e = error_of([&] { read_png(dir / "text.png"); });
    CHECK(contains(e, "text.png"));
    CHECK(contains(e, "is not a PNG file"));
    CHECK(contains(e, "47 49 46 38"));

    // A PNG cut in half: the signature is fine, the data is not.
    write_png(dir / "whole.png", from_vector(pseudo_random_bytes(64 * 64, 3), Shape{1, 1, 64, 64}));
    std::ifstream in(dir / "whole.png", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    {
        std::ofstream cut(dir / "cut.png", std::ios::binary);
        cut.write(bytes.data(), std::streamsize(bytes.size() / 2));
    }
    e = error_of([&] { read_png(dir / "cut.png"); });
    CHECK(contains(e, "cut.png"));
    CHECK(contains(e, "corrupt PNG"));

    CHECK(contains(error_of([] { make_grid(zeros({2, 2, 4, 4})); }), "2 channels"));
    CHECK(contains(error_of([] { make_grid(zeros({4, 4})); }), "[N, C, H, W]"));
    CHECK(contains(error_of([&] { write_png(dir / "f.png", zeros({1, 2, 2})); }), "expected uint8"));
}
