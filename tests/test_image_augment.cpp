// Augmentation and postprocessing of 8-bit images against Pillow/torchvision (fixtures from
// tests/reference/make_augment_fixtures.py), and the properties of what Pillow lacks.
#include <algorithm>
#include <cmath>

#include "core/data/augment.h"
#include "core/data/image_ops.h"
#include "core/data/postprocess.h"
#include "core/data/transforms.h"
#include "image_test_util.h"

using namespace mg;
using namespace mg::data;
using mg::test::image_fixture;
using mg::test::npy_image;

namespace {

void check_exact(const io::ImageU8& got, const std::string& fixture) {
    const auto [worst, mean] = mg::test::difference(got, npy_image(image_fixture(fixture)));
    INFO(fixture << ": bytes differ by up to " << worst << ", " << mean << " on average");
    CHECK(worst == 0);
}

io::ImageU8 source(const char* kind) { return npy_image(image_fixture(std::string("augment_") + kind + "_src.npy")); }

// [H, W, C] -> [C, H, W] and back: a batch's layout.
std::vector<uint8_t> planar(const io::ImageU8& im) {
    std::vector<uint8_t> out(im.pixels.size());
    const size_t p = size_t(im.height * im.width), c = size_t(im.channels);
    for (size_t i = 0; i < p; ++i)
        for (size_t ch = 0; ch < c; ++ch) out[ch * p + i] = im.pixels[i * c + ch];
    return out;
}
io::ImageU8 interleaved(const std::vector<uint8_t>& chw, int64_t h, int64_t w, int64_t c) {
    io::ImageU8 im{h, w, c, std::vector<uint8_t>(chw.size())};
    const size_t p = size_t(h * w);
    for (size_t i = 0; i < p; ++i)
        for (size_t ch = 0; ch < size_t(c); ++ch) im.pixels[i * size_t(c) + ch] = chw[ch * p + i];
    return im;
}

// The fixture names print factors as Python's str(float) does.
std::string num(double f) {
    std::string s = fmt::format("{}", f);
    return s.find('.') == std::string::npos ? s + ".0" : s;
}

}  // namespace

TEST_CASE("augment: brightness, contrast, saturation and hue are Pillow's / torchvision's, bit for bit") {
    for (const char* kind : {"grey", "rgb"}) {
        const io::ImageU8 src = source(kind);
        for (double f : {0.6, 1.7}) check_exact(adjust_brightness(src, f), fmt::format("augment_{}_brightness_{}.npy", kind, num(f)));
        for (double f : {0.5, 1.8}) check_exact(adjust_contrast(src, f), fmt::format("augment_{}_contrast_{}.npy", kind, num(f)));
        if (src.channels == 1) CHECK(adjust_saturation(src, 0.3).pixels == src.pixels);
    }
    const io::ImageU8 rgb = source("rgb");
    for (double f : {0.3, 1.9}) check_exact(adjust_saturation(rgb, f), fmt::format("augment_rgb_saturation_{}.npy", num(f)));
    for (double h : {-0.3, 0.12, 0.5}) check_exact(adjust_hue(rgb, h), fmt::format("augment_rgb_hue_{}.npy", num(h)));
    CHECK_THROWS_WITH_AS(adjust_hue(rgb, 0.7), doctest::Contains("hue 0.7"), Error);
    CHECK_THROWS_WITH_AS(adjust_contrast(rgb, -1), doctest::Contains("factor -1"), Error);
}

TEST_CASE("augment: colour jitter, translation and cutout are reproducible from a seed and do what they say") {
    const io::ImageU8 rgb = source("rgb");
    const ColorJitter j{0.4, 0.4, 0.4, 0.1};
    RandomStream a(5), b(5), c(6);
    const io::ImageU8 ja = color_jitter(rgb, j, a);
    CHECK(ja.pixels == color_jitter(rgb, j, b).pixels);
    CHECK(ja.pixels != color_jitter(rgb, j, c).pixels);
    CHECK(ja.pixels != rgb.pixels);
    RandomStream none(1);
    CHECK(color_jitter(rgb, {}, none).pixels == rgb.pixels);

    const io::ImageU8 moved = translate(rgb, 2, -3, {1, 2, 3});
    for (int64_t y = 0; y < rgb.height; ++y)
        for (int64_t x = 0; x < rgb.width; ++x)
            for (int64_t ch = 0; ch < 3; ++ch) {
                const bool inside = y - 2 >= 0 && x + 3 < rgb.width;
                CHECK(moved.row(y)[x * 3 + ch] == (inside ? rgb.row(y - 2)[(x + 3) * 3 + ch] : uint8_t(ch + 1)));
            }
    const io::ImageU8 cut = cutout(rgb, -2, 5, 6, 4, {9, 9, 9});
    int64_t filled = 0;
    for (size_t i = 0; i < cut.pixels.size(); ++i) filled += cut.pixels[i] != rgb.pixels[i] || cut.pixels[i] == 9;
    CHECK(filled >= 4 * 4 * 3 - 3);  // rows 0..3 of columns 5..8 (a source byte may already be 9)
    CHECK(cut.row(3)[5 * 3] == 9);
    CHECK(cut.row(4)[5 * 3] == rgb.row(4)[5 * 3]);
    RandomStream t1(3), t2(3);
    CHECK(random_translate(rgb, 2, 2, t1).pixels == random_translate(rgb, 2, 2, t2).pixels);
    RandomStream c1(3);
    CHECK(random_cutout(rgb, 4, c1).pixels != rgb.pixels);

    const io::ImageU8 grey = to_grey(rgb);
    CHECK(grey.channels == 1);
    CHECK(grey.pixels[7] == io::luma(rgb.pixels[21], rgb.pixels[22], rgb.pixels[23]));
    const io::ImageU8 back = to_rgb(grey);
    CHECK(back.channels == 3);
    CHECK((back.pixels[21] == grey.pixels[7] && back.pixels[23] == grey.pixels[7]));
}

// Pillow's hue round trip as written in libImaging/Convert.c (rgb2hsv_row, hsv2rgb), libm
// calls and all: the reference for augment.cpp's version without them.
io::Rgb pillow_hue_shift(io::Rgb in, uint8_t shift) {
    const uint8_t r = in[0], g = in[1], b = in[2];
    const uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
    uint8_t h = 0, s = 0;
    const uint8_t v = maxc;
    if (minc != maxc) {
        const float cr = float(maxc - minc), sf = cr / float(maxc);
        const auto c = [&](uint8_t x) { return float(maxc - x) / cr; };  // Pillow's rc, gc, bc
        float hf = r == maxc ? c(b) - c(g) : g == maxc ? float(2.0 + c(r) - c(b)) : float(4.0 + c(g) - c(r));
        hf = float(std::fmod(hf / 6.0 + 1.0, 1.0));
        h = uint8_t(std::clamp(int(hf * 255.0), 0, 255));
        s = uint8_t(std::clamp(int(sf * 255.0), 0, 255));
    }
    h = uint8_t(h + shift);
    if (s == 0) return {v, v, v};
    const int i = int(std::floor(float(h) * 6.0 / 255.0));
    const float f = float(float(h) * 6.0 / 255.0 - float(i));
    const float fs = float(float(s) / 255.0);
    const auto clip = [](double x) { return uint8_t(std::clamp(int(std::round(x)), 0, 255)); };
    const uint8_t p = clip(float(v) * (1.0 - fs)), q = clip(float(v) * (1.0 - fs * f)),
                  t = clip(float(v) * (1.0 - fs * (1.0 - f)));
    switch (i % 6) {
        case 0: return {v, t, p};
        case 1: return {q, v, p};
        case 2: return {p, v, t};
        case 3: return {p, q, v};
        case 4: return {t, p, v};
        default: return {v, p, q};
    }
}

TEST_CASE("augment: hue is Pillow's arithmetic on every red-green pair at several blues and shifts") {
    // (The whole RGB cube and every HSV triple were compared once, offline: no difference.)
    io::ImageU8 im{256, 256 * 6, 3, {}};
    for (int r = 0; r < 256; ++r)
        for (int b : {0, 1, 77, 128, 254, 255})
            for (int g = 0; g < 256; ++g) im.pixels.insert(im.pixels.end(), {uint8_t(r), uint8_t(g), uint8_t(b)});
    for (double hue : {-0.5, -0.13, 0.0, 0.07, 0.31, 0.5}) {
        const io::ImageU8 got = adjust_hue(im, hue);
        const uint8_t shift = uint8_t(int64_t(hue * 255.0) & 255);
        int64_t differ = 0;
        for (size_t i = 0; i < im.pixels.size(); i += 3) {
            const io::Rgb want = pillow_hue_shift({im.pixels[i], im.pixels[i + 1], im.pixels[i + 2]}, shift);
            differ += got.pixels[i] != want[0] || got.pixels[i + 1] != want[1] || got.pixels[i + 2] != want[2];
        }
        INFO("hue " << hue);
        CHECK(differ == 0);
    }
}

TEST_CASE("augment: jitter in place on planar pixels is color_jitter's, byte for byte") {
    const ColorJitter j{0.5, 0.6, 0.7, 0.2};
    for (const char* kind : {"grey", "rgb"}) {
        const io::ImageU8 src = source(kind);
        for (uint64_t seed = 0; seed < 12; ++seed) {
            RandomStream a(seed), b(seed);
            const io::ImageU8 want = color_jitter(src, j, a);
            std::vector<uint8_t> chw = planar(src);
            apply_color_jitter({chw.data(), src.height * src.width, src.channels, /*planar=*/true},
                               draw_color_jitter(j, b));
            INFO(kind << " seed " << seed);
            CHECK(interleaved(chw, src.height, src.width, src.channels).pixels == want.pixels);
            CHECK(a.next_u32() == b.next_u32());  // the same number of draws
        }
    }
}

TEST_CASE("augment: a jitter spec is one number or four, each in range") {
    const ColorJitter one = parse_color_jitter("0.25", "--jitter");
    CHECK((one.brightness == 0.25 && one.contrast == 0.25 && one.saturation == 0.25 && one.hue == 0));
    const ColorJitter four = parse_color_jitter("0.1,0.2,0.3,0.05", "--jitter");
    CHECK((four.brightness == 0.1 && four.contrast == 0.2 && four.saturation == 0.3 && four.hue == 0.05));
    CHECK(!parse_color_jitter("", "--jitter").any());
    CHECK(!parse_color_jitter("0,0,0,0", "--jitter").any());
    const std::pair<const char*, const char*> bad[] = {
        {"0.2,0.2", "--jitter 0.2,0.2: expected one number"},
        {"0.2,0.2,0.2,0.1,0.1", "more than four"},
        {"abc", "--jitter abc: abc is not a number"},
        {"0.2,,0.2,0.1", "is not a number"},
        {"0.2,", "is not a number"},
        {"nan", "nan is not a number"},
        {"-0.1", "must be in [0, 10]"},
        {"11", "must be in [0, 10]"},
        {"0.1,0.1,0.1,0.6", "hue 0.6 in [0, 0.5]"},
    };
    for (auto [text, message] : bad) CHECK_THROWS_WITH_AS(parse_color_jitter(text, "--jitter"), doctest::Contains(message), Error);
}

TEST_CASE("augment: a batch's crop, flip and jitter are reflect-pad, crop, hflip and color_jitter of each image") {
    // 6 RGB 9x7 images of distinct bytes; reference: image_ops' pad/crop/hflip and the
    // ImageU8 jitter, drawing from one stream in augment's order.
    const int64_t n = 6, c = 3, h = 9, w = 7;
    RandomStream fill(42);
    std::vector<uint8_t> px(size_t(n * c * h * w));
    for (uint8_t& v : px) v = uint8_t(fill.next_u32());
    const Tensor batch = from_vector(px, Shape{n, c, h, w});
    const AugmentOptions o{.crop = 3, .hflip = true, .jitter = {0.4, 0.4, 0.4, 0.1}, .range = PixelRange::ZeroOne};
    for (uint64_t seed : {1, 2, 3}) {
        RandomStream rng(seed), ref(seed);
        const std::vector<float> got = augment(batch, o, rng).to_vector<float>();
        for (int64_t i = 0; i < n; ++i) {
            const std::vector<uint8_t> chw(px.begin() + i * c * h * w, px.begin() + (i + 1) * c * h * w);
            const int64_t dy = int64_t(ref.below(7)) - 3, dx = int64_t(ref.below(7)) - 3;
            io::ImageU8 im = crop(pad(interleaved(chw, h, w, c), 3, 3, 3, 3, PadMode::reflect), 3 + dy, 3 + dx, h, w);
            if (ref.bernoulli(0.5)) im = hflip(im);
            const std::vector<uint8_t> want = planar(color_jitter(im, o.jitter, ref));
            for (size_t k = 0; k < want.size(); ++k) {
                INFO("seed " << seed << " image " << i << " byte " << k);
                REQUIRE(got[size_t(i * c * h * w) + k] == float(want[k]) / 255.0f);
            }
        }
    }
    RandomStream r(0);
    CHECK_THROWS_WITH_AS(augment(batch, {.crop = 7}, r), doctest::Contains("crop 7 must be smaller than the image (9x7)"), Error);
    CHECK_THROWS_WITH_AS(augment(batch.to(DType::Float32), {}, r), doctest::Contains("expected uint8"), Error);
    CHECK_THROWS_WITH_AS(augment(zeros({1, 2, 4, 4}, {DType::UInt8}), {}, r), doctest::Contains("1 or 3 channels"), Error);
    CHECK_THROWS_WITH_AS(transforms::augment({.jitter = {0, 0, 0, 0.7}}), doctest::Contains("hue 0.7"), Error);
}

TEST_CASE("augment: a batch is normalised per channel, or to [-1, 1]") {
    io::ImageU8 im{1, 2, 3, {0, 51, 255, 255, 102, 0}};
    Tensor unit = images_to_batch({im});
    CHECK(unit.shape() == Shape{1, 3, 1, 2});
    const std::vector<float> u = unit.to_vector<float>();
    CHECK(u[0] == doctest::Approx(-1.0));
    CHECK(u[1] == doctest::Approx(1.0));
    CHECK(u[2] == doctest::Approx(51.0 / 127.5 - 1));
    const std::vector<float> v = images_to_batch({im}, {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}).to_vector<float>();
    CHECK(v[3] == doctest::Approx((102 / 255.0 - 0.456) / 0.224).epsilon(1e-6));
    CHECK(v[5] == doctest::Approx((0 - 0.406) / 0.225).epsilon(1e-6));
    CHECK_THROWS_WITH_AS(images_to_batch({im}, {{0.5, 0.5}, {0.5}}), doctest::Contains("2 mean values for 3 channels"), Error);
}

TEST_CASE("postprocess: median filter and unsharp mask are Pillow's, bit for bit") {
    for (const char* kind : {"grey", "rgb"}) {
        const io::ImageU8 src = source(kind);
        for (int k : {3, 5}) check_exact(median_filter(src, k), fmt::format("augment_{}_median_{}.npy", kind, k));
        check_exact(unsharp_mask(src, 2, 150, 3), fmt::format("augment_{}_unsharp_2_150_3.npy", kind));
        check_exact(unsharp_mask(src, 1.5, 80, 0), fmt::format("augment_{}_unsharp_1.5_80_0.npy", kind));
    }
    CHECK_THROWS_WITH_AS(median_filter(source("grey"), 4), doctest::Contains("size 4"), Error);
}

TEST_CASE("postprocess: bilateral keeps edges and smooths flat noise; grey world equalises channel means") {
    // Left half 40, right half 200, plus +-3 noise: the edge stays, the noise shrinks.
    io::ImageU8 im{8, 12, 1, std::vector<uint8_t>(96)};
    for (int64_t y = 0; y < 8; ++y)
        for (int64_t x = 0; x < 12; ++x) im.pixels[size_t(y * 12 + x)] = uint8_t((x < 6 ? 40 : 200) + ((x + y) % 2 ? 3 : -3));
    const io::ImageU8 out = bilateral_filter(im, 2.0, 20.0);
    for (int64_t y = 0; y < 8; ++y) {
        CHECK(std::abs(int(out.row(y)[2]) - 40) <= 1);
        CHECK(std::abs(int(out.row(y)[5]) - 40) <= 2);
        CHECK(std::abs(int(out.row(y)[6]) - 200) <= 2);
    }
    const io::ImageU8 rgb = source("rgb");
    const io::ImageU8 balanced = grey_world(rgb);
    double mean[3] = {0, 0, 0};
    for (size_t i = 0; i < balanced.pixels.size(); ++i) mean[i % 3] += balanced.pixels[i] / double(rgb.height * rgb.width);
    INFO(mean[0] << " " << mean[1] << " " << mean[2]);
    CHECK(std::abs(mean[0] - mean[1]) < 1.5);  // rounding and clipping at 255 move a mean a little
    CHECK(std::abs(mean[0] - mean[2]) < 1.5);
}

TEST_CASE("postprocess: histogram matching makes the image's CDFs the reference's, within one source level") {
    const io::ImageU8 rgb = source("rgb");
    std::vector<io::ImageU8> reference;
    for (double f : {0.5, 0.8}) reference.push_back(adjust_contrast(adjust_brightness(rgb, f), 0.6));
    const ChannelHistograms ref = channel_histograms(reference), src = channel_histograms({rgb});
    const io::ImageU8 matched = match_histograms(rgb, ref);
    const ChannelHistograms got = channel_histograms({matched});
    const auto cdf = [](const std::array<uint64_t, 256>& counts) {
        std::vector<double> c(256);
        double total = 0, run = 0;
        for (uint64_t n : counts) total += double(n);
        for (size_t v = 0; v < 256; ++v) c[v] = (run += double(counts[v])) / total;
        return c;
    };
    for (size_t c = 0; c < 3; ++c) {
        // At every level the image's CDF is at most the reference's, and short of it by less
        // than the share of one level of the source (the pixels of a level move together).
        const std::vector<double> want = cdf(ref.counts[c]), have = cdf(got.counts[c]);
        const double bin = double(*std::max_element(src.counts[c].begin(), src.counts[c].end())) / double(rgb.height * rgb.width);
        double worst = 0;
        for (size_t v = 0; v < 256; ++v) {
            CHECK(have[v] <= want[v] + 1e-12);
            worst = std::max(worst, want[v] - have[v]);
        }
        INFO("channel " << c << ": CDF short by up to " << worst << ", one source level is " << bin);
        CHECK(worst < bin + 1e-12);
        CHECK(got.counts[c] != src.counts[c]);
    }
    // The packed form gives the same histograms.
    std::vector<uint8_t> chw(rgb.pixels.size());
    for (size_t p = 0; p < chw.size() / 3; ++p)
        for (size_t c = 0; c < 3; ++c) chw[c * (chw.size() / 3) + p] = rgb.pixels[p * 3 + c];
    CHECK(channel_histograms(chw.data(), 1, 3, rgb.height, rgb.width).counts == channel_histograms({rgb}).counts);
}

TEST_CASE("postprocess: upscale is resize by a factor; float samples become bytes") {
    const io::ImageU8 grey = source("grey");
    const io::ImageU8 big = upscale(grey, 3, ResizeFilter::bicubic);
    CHECK((big.height == grey.height * 3 && big.width == grey.width * 3));
    CHECK(big.pixels == resize(grey, grey.height * 3, grey.width * 3, ResizeFilter::bicubic).pixels);
    Tensor x = from_vector<float>({-1.0f, 0.0f, 1.0f, 2.0f}, {1, 1, 2, 2});
    const std::vector<io::ImageU8> ims = batch_to_images(x);
    CHECK(ims[0].pixels == std::vector<uint8_t>{0, 128, 255, 255});
    CHECK_THROWS_WITH_AS(batch_to_images(from_vector<float>({NAN}, {1, 1, 1, 1})), doctest::Contains("NaN"), Error);
}
