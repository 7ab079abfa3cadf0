// PNG and JPEG decoding (core/io/image_decode.h): every colour layout against Pillow's
// pixels where Pillow defines them, 16-bit PNGs, the files refused and why, and a fuzz
// case of corrupted files that must fail cleanly.
#include <chrono>
#include <ctime>

#include "core/data/image_ops.h"
#include "core/data/random_stream.h"
#include "core/io/image.h"
#include "image_test_util.h"

#define STB_IMAGE_WRITE_STATIC  // a test-only writer of PNG and JPEG bytes
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

using namespace mg;
using namespace mg::io;
using mg::test::difference;
using mg::test::error_of;
using mg::test::file_bytes;
using mg::test::has;
using mg::test::image_fixture;
using mg::test::npy_image;

namespace {

void append_bytes(void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

// stb_image_write's PNG (any 1..4 channels) or baseline JPEG of interleaved pixels.
std::string encode(const std::vector<uint8_t>& px, int h, int w, int c, bool jpeg = false) {
    std::string out;
    int ok = jpeg ? stbi_write_jpg_to_func(append_bytes, &out, w, h, c, px.data(), 90)
                  : stbi_write_png_to_func(append_bytes, &out, w, h, c, px.data(), w * c);
    REQUIRE(ok != 0);
    return out;
}

std::vector<uint8_t> pattern(int h, int w, int c, uint32_t seed) {
    std::vector<uint8_t> v(size_t(h * w * c));
    data::RandomStream r(seed);
    for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t((i * 7 + (i / size_t(w * c)) * 13) % 256 ^ (r.next_u32() & 15));
    return v;
}

DecodeOptions with_channels(int channels) {
    DecodeOptions o;
    o.channels = channels;
    return o;
}

}  // namespace

TEST_CASE("image decode: PNG grey, RGB, grey+alpha and RGBA, converted to 1 or 3 channels") {
    const int h = 5, w = 7;
    for (int c = 1; c <= 4; ++c) {
        CAPTURE(c);
        const std::vector<uint8_t> px = pattern(h, w, c, uint32_t(c));
        const std::string png = encode(px, h, w, c);
        for (int want : {0, 1, 3}) {
            CAPTURE(want);
            const ImageU8 img = decode_image(png, "test.png", with_channels(want));
            CHECK(img.height == h);
            CHECK(img.width == w);
            CHECK(img.channels == (want != 0 ? want : c <= 2 ? 1 : 3));
            for (int i = 0; i < h * w; ++i) {
                const uint8_t* p = &px[size_t(i * c)];
                uint8_t r = p[0], g = c >= 3 ? p[1] : p[0], b = c >= 3 ? p[2] : p[0];
                if (c == 2 || c == 4) {  // over white
                    const int a = p[c - 1];
                    r = uint8_t((r * a + 255 * (255 - a) + 127) / 255);
                    g = uint8_t((g * a + 255 * (255 - a) + 127) / 255);
                    b = uint8_t((b * a + 255 * (255 - a) + 127) / 255);
                }
                const uint8_t* q = &img.pixels[size_t(i * img.channels)];
                if (img.channels == 3) {
                    REQUIRE(int(q[0]) == int(r));
                    REQUIRE(int(q[1]) == int(g));
                    REQUIRE(int(q[2]) == int(b));
                } else {
                    REQUIRE(int(q[0]) == int(luma(r, g, b)));
                }
            }
        }
    }
    // Alpha over another background, and alpha dropped.
    const std::string rgba = encode({10, 20, 30, 0, 10, 20, 30, 255}, 1, 2, 4);
    DecodeOptions black;
    black.background = Rgb{0, 0, 0};
    CHECK(decode_image(rgba, "x.png", black).pixels == std::vector<uint8_t>{0, 0, 0, 10, 20, 30});
    DecodeOptions drop;
    drop.background = std::nullopt;
    CHECK(decode_image(rgba, "x.png", drop).pixels == std::vector<uint8_t>{10, 20, 30, 10, 20, 30});
}

TEST_CASE("image decode: alpha compositing and grey conversion match Pillow") {
    // Pillow: Image.new("RGB", size, white).paste(rgba, mask=alpha), then convert("L").
    for (const std::string name : {"rgba", "palette_trns"}) {
        CAPTURE(name);
        const std::string file = image_fixture(name + ".png");
        CHECK(read_image(file, with_channels(3)).pixels ==
              npy_image(image_fixture(name + "_over_white_rgb.npy")).pixels);
        CHECK(read_image(file, with_channels(1)).pixels ==
              npy_image(image_fixture(name + "_over_white_l.npy")).pixels);
    }
}

TEST_CASE("image decode: 16-bit PNGs are rounded to 8 bits") {
    const ImageU8 grey = read_image(image_fixture("grey16.png"), with_channels(0));
    CHECK(grey.channels == 1);
    CHECK(grey.pixels == npy_image(image_fixture("grey16_expected.npy")).pixels);
    CHECK(std::vector<uint8_t>(grey.pixels.begin(), grey.pixels.begin() + 5) == std::vector<uint8_t>{0, 0, 1, 255, 255});  // 65407 -> 254.51
    CHECK(read_image(image_fixture("rgba16.png")).pixels == npy_image(image_fixture("rgba16_expected.npy")).pixels);
}

TEST_CASE("image decode: baseline, progressive and grey JPEGs are close to Pillow's libjpeg") {
    // stb_image and libjpeg use different IDCTs and chroma upsampling: not bit-exact.
    for (const std::string name : {"baseline", "progressive", "grey"}) {
        CAPTURE(name);
        const ImageU8 ours = read_image(image_fixture("jpeg_" + name + ".jpg"), with_channels(0));
        const ImageU8 pillow = npy_image(image_fixture("jpeg_" + name + "_pillow.npy"));
        const auto [worst, mean] = difference(ours, pillow);
        MESSAGE("JPEG " << name << " vs Pillow: max |diff| " << worst << ", mean " << mean);
        CHECK(worst <= 4);  // measured: 2, 2, 1
        CHECK(mean < 0.5);  // measured: 0.14, 0.14, 0.01
    }
    // A JPEG written here decodes close to its source.
    const std::vector<uint8_t> px = pattern(16, 24, 3, 5);
    std::vector<uint8_t> smooth(px.size());
    for (size_t i = 0; i < px.size(); ++i) smooth[i] = uint8_t((i % 72) * 3);
    const ImageU8 back = decode_image(encode(smooth, 16, 24, 3, true), "smooth.jpg");
    CHECK(difference(back, ImageU8{16, 24, 3, smooth}).second < 4.0);
}

TEST_CASE("image decode: refused files say what they are and name the file") {
    const std::string png = encode(pattern(4, 4, 3, 1), 4, 4, 3);
    std::string e = error_of([&] { decode_image("GIF89a\x01\x00\x01\x00", "'cat.gif'"); });
    CHECK(has(e, "'cat.gif'"));
    CHECK(has(e, "not a PNG or JPEG"));
    CHECK(has(e, "GIF"));
    CHECK(has(error_of([&] { decode_image("BM\x36\x00\x00\x00", "b"); }), "BMP"));
    CHECK(has(error_of([&] { decode_image(std::string("RIFF\0\0\0\0WEBPVP8 ", 16), "w"); }), "WebP"));
    CHECK(has(error_of([&] { decode_image("", "empty.png"); }), "it is empty"));
    e = error_of([&] { decode_image("hello, world", "text.png"); });
    CHECK(has(e, "not a PNG or JPEG (it starts with [68 65 6c 6c 6f 2c 20 77])"));

    e = error_of([&] { read_image(image_fixture("animated.png")); });
    CHECK(has(e, "animated.png"));
    CHECK(has(e, "animated PNG"));
    e = error_of([&] { read_image(image_fixture("jpeg_cmyk.jpg")); });
    CHECK(has(e, "jpeg_cmyk.jpg"));
    CHECK(has(e, "CMYK"));

    // Cut short, and damaged inside the compressed data.
    e = error_of([&] { decode_image(png.substr(0, png.size() / 2), "'cut.png'"); });
    CHECK(has(e, "'cut.png'"));
    CHECK(has(e, "corrupt PNG"));
    const std::string jpg = encode(pattern(16, 16, 3, 2), 16, 16, 3, true);
    CHECK(has(error_of([&] { decode_image(jpg.substr(0, 200), "cut.jpg"); }), "corrupt JPEG"));

    // A Huffman table with more than 256 codes (stb 2.27 would write past its tables).
    std::string dht = jpg;
    const size_t at = dht.find("\xff\xc4");
    REQUIRE(at != std::string::npos);
    for (size_t i = 0; i < 16; ++i) dht[at + 5 + i] = char(0x20);
    e = error_of([&] { decode_image(dht, "dht.jpg"); });
    CHECK(has(e, "dht.jpg: corrupt JPEG data: a Huffman table at offset"));
    CHECK(has(e, "has 512 codes"));

    // Zero width in the header.
    std::string zero = png;
    zero[16] = zero[17] = zero[18] = zero[19] = 0;
    e = error_of([&] { decode_image(zero, "zero.png"); });
    CHECK(has(e, "zero.png"));
    CHECK(!e.empty());

    // Over the caps: pixels from the header, before decoding; bytes before reading.
    DecodeOptions small;
    small.max_pixels = 15;
    e = error_of([&] { decode_image(png, "big.png", small); });
    CHECK(has(e, "4x4 pixels, more than the 15"));
    std::string huge = png;  // header claims 100000 x 100000
    huge[16] = 0, huge[17] = 1, huge[18] = char(0x86), huge[19] = char(0xA0);
    huge[20] = 0, huge[21] = 1, huge[22] = char(0x86), huge[23] = char(0xA0);
    CHECK(has(error_of([&] { decode_image(huge, "huge.png"); }), "huge.png"));
    small = {};
    small.max_file_bytes = 10;
    CHECK(has(error_of([&] { decode_image(png, "long.png", small); }), "more than the 10"));
    CHECK(has(error_of([&] { decode_image(png, "c.png", with_channels(2)); }), "asked for 2 channels"));

    test::TempDir dir;
    CHECK(has(error_of([&] { read_image(dir / "missing.png"); }), "no such file"));
    const std::string odd = dir / "bad\xff\x01name.png";
    test::write_bytes(odd, "not an image");
    e = error_of([&] { read_image(odd); });
    CHECK(has(e, "not a PNG or JPEG"));
}

TEST_CASE("image decode: read_png still reads as stored (grey as 1 channel, alpha dropped)") {
    test::TempDir dir;
    test::write_bytes(dir / "ga.png", encode({7, 0, 9, 255}, 1, 2, 2));
    const Tensor grey = io::read_png(dir / "ga.png");
    CHECK(grey.shape() == Shape{1, 1, 1, 2});
    CHECK(grey.to_vector<uint8_t>() == std::vector<uint8_t>{7, 9});
    test::write_bytes(dir / "rgba.png", encode({1, 2, 3, 0}, 1, 1, 4));
    CHECK(io::read_png(dir / "rgba.png").to_vector<uint8_t>() == std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("fuzz: image decoder fails cleanly on 500 corrupted PNG and JPEG files") {
    // Valid files of every kind, then byte flips, truncations, header field edits and
    // inserted bytes from a fixed seed. Each must decode or throw mg::Error; nothing else.
    std::vector<std::string> seeds = {encode(pattern(20, 24, 3, 1), 20, 24, 3), encode(pattern(9, 13, 1, 2), 9, 13, 1),
                                      encode(pattern(8, 8, 4, 3), 8, 8, 4), encode(pattern(8, 8, 2, 4), 8, 8, 2),
                                      encode(pattern(24, 20, 3, 5), 24, 20, 3, true),
                                      encode(pattern(16, 16, 1, 6), 16, 16, 1, true)};
    for (const char* f : {"jpeg_progressive.jpg", "grey16.png", "rgba16.png", "palette_trns.png"})
        seeds.push_back(file_bytes(image_fixture(f)));
    data::RandomStream rng(20261207);
    int decoded = 0, refused = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 500; ++i) {
        std::string b = seeds[size_t(i) % seeds.size()];
        const uint64_t kind = rng.below(4);
        if (kind == 0) {  // flip 1..8 random bytes
            for (uint64_t k = 0, n = 1 + rng.below(8); k < n; ++k) b[rng.below(b.size())] ^= char(1 + rng.below(255));
        } else if (kind == 1) {  // cut short
            b.resize(rng.below(b.size()));
        } else if (kind == 2) {  // a header field: PNG IHDR (width, height, depth, colour type), JPEG SOF and tables
            const size_t at = b[0] == char(0x89) ? 16 + rng.below(10) : 2 + rng.below(std::min<size_t>(b.size() - 2, 200));
            b[at] = char(rng.below(2) ? 0xFF : rng.below(256));
        } else {  // bytes inserted
            b.insert(rng.below(b.size()), std::string(1 + rng.below(16), char(rng.below(256))));
        }
        try {
            const ImageU8 img = decode_image(b, "fuzz");
            REQUIRE(img.pixels.size() == size_t(img.height * img.width * img.channels));
            ++decoded;
        } catch (const Error&) {
            ++refused;
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("fuzz: 500 corrupted images, " << decoded << " decoded, " << refused << " refused, " << seconds << " s");
    CHECK(decoded + refused == 500);
    CHECK(refused > 100);
}

// Not run by default (a measurement, not a check): doctest --no-skip -tc='*throughput*'.
TEST_CASE("image decode: decode + resize throughput, emoji-like PNGs to 64x64 RGB" * doctest::skip()) {
    // 136 x 128 RGBA like Noto's emoji: a shaded disc on a transparent background.
    std::vector<std::string> files;
    for (int k = 0; k < 64; ++k) {
        std::vector<uint8_t> px(136 * 128 * 4);
        for (int y = 0; y < 128; ++y)
            for (int x = 0; x < 136; ++x) {
                uint8_t* p = &px[size_t((y * 136 + x) * 4)];
                const int dx = x - 68, dy = y - 64, r2 = dx * dx + dy * dy;
                p[0] = uint8_t(200 + k), p[1] = uint8_t(150 + y / 2), p[2] = uint8_t(40 + x / 3);
                p[3] = r2 < 55 * 55 ? 255 : r2 < 58 * 58 ? 128 : 0;
            }
        files.push_back(encode(px, 128, 136, 4));
    }
    for (int threads : {1, 2}) {
        const int n = 2000;
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();  // process CPU time: what a shared machine's load does not inflate
#pragma omp parallel for num_threads(threads) schedule(dynamic, 8)
        for (int i = 0; i < n; ++i) {
            const ImageU8 img = decode_image(files[size_t(i) % files.size()], "emoji");
            const ImageU8 small = data::fit_to(img, 64, 64, data::ResizeFilter::bicubic, data::Fit::cover);
            REQUIRE(small.pixels.size() == 64 * 64 * 3);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        MESSAGE(threads << " thread(s): " << n / s << " images/s, " << n / cpu << " images per CPU-second ("
                        << files[0].size() << "-byte PNGs)");
    }
}
