// Resizing against Pillow's Image.resize (fixtures from tests/reference/make_resize_fixtures.py:
// every filter, up and down, square and not, 1 and 3 channels), and the plain image
// operations (crops, padding, flips, fitting) against hand-computed results.
#include <set>

#include "core/data/image_ops.h"
#include "core/data/resize.h"
#include "image_test_util.h"

using namespace mg;
using namespace mg::data;
using namespace mg::test;

namespace {

// rows of "y x" values: pixel (y, x) = 10*y + x, one channel
io::ImageU8 counting(int64_t h, int64_t w) {
    io::ImageU8 img{h, w, 1, {}};
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) img.pixels.push_back(uint8_t(10 * y + x));
    return img;
}

}  // namespace

TEST_CASE("resize: every filter within 1 level of Pillow on 99.9% of pixels (in fact equal)") {
    const std::pair<int64_t, int64_t> targets[] = {{9, 12}, {40, 17}, {48, 64}, {27, 33}, {30, 23}};
    for (const char* filter : {"nearest", "box", "bilinear", "bicubic", "lanczos"}) {
        int64_t total = 0, within1 = 0, equal = 0;
        int worst = 0;
        for (const char* src_name : {"grey", "rgb"}) {
            const io::ImageU8 src = npy_image(image_fixture(std::string("resize_") + src_name + "_src.npy"));
            for (auto [h, w] : targets) {
                const io::ImageU8 want = npy_image(image_fixture(
                    fmt::format("resize_{}_{}_{}x{}.npy", src_name, filter, h, w)));
                const io::ImageU8 got = resize(src, h, w, parse_resize_filter(filter));
                REQUIRE(got.height == want.height);
                REQUIRE(got.width == want.width);
                REQUIRE(got.channels == want.channels);
                for (size_t i = 0; i < got.pixels.size(); ++i) {
                    const int d = std::abs(int(got.pixels[i]) - int(want.pixels[i]));
                    worst = std::max(worst, d);
                    within1 += d <= 1;
                    equal += d == 0;
                    ++total;
                }
            }
        }
        MESSAGE("resize " << std::string(filter) << " vs Pillow 9.4: " << total << " values, " << equal << " equal, " << within1
                          << " within 1, max |diff| " << worst);
        CHECK(double(within1) >= 0.999 * double(total));
        CHECK(equal == total);
    }
}

TEST_CASE("resize: same size is a copy, constants stay constant, names and bad sizes") {
    const io::ImageU8 img = counting(5, 7);
    for (const char* f : {"nearest", "area", "bilinear", "bicubic", "lanczos"}) {
        CAPTURE(f);
        CHECK(resize(img, 5, 7, parse_resize_filter(f)).pixels == img.pixels);
        const io::ImageU8 grey{3, 4, 3, std::vector<uint8_t>(36, 200)};
        for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {9, 2}, {17, 31}})
            CHECK(resize(grey, h, w, parse_resize_filter(f)).pixels == std::vector<uint8_t>(size_t(h * w * 3), 200));
    }
    // box: halving averages 2x2 blocks, rounded half up
    const io::ImageU8 half = resize(counting(2, 4), 1, 2, ResizeFilter::box);
    CHECK(half.pixels == std::vector<uint8_t>{6, 8});  // (0+1+10+11)/4 = 5.5 -> 6; (2+3+12+13)/4 = 7.5 -> 8
    // nearest: output x reads floor((x + 0.5) * 7 / 3) = 1, 3, 5
    CHECK(resize(counting(1, 7), 1, 3, ResizeFilter::nearest).pixels == std::vector<uint8_t>{1, 3, 5});
    CHECK(resize_filter_name(parse_resize_filter("area")) == "box");
    CHECK(has(error_of([] { parse_resize_filter("cubic"); }), "resize filter 'cubic': expected nearest"));
    CHECK(has(error_of([&] { resize(img, 0, 3, ResizeFilter::bilinear); }), "target size 0x3"));
}

TEST_CASE("image ops: crops, padding, flips") {
    const io::ImageU8 img = counting(4, 5);
    CHECK(crop(img, 1, 2, 2, 2).pixels == std::vector<uint8_t>{12, 13, 22, 23});
    CHECK(center_crop(img, 2, 3).pixels == std::vector<uint8_t>{11, 12, 13, 21, 22, 23});
    CHECK(center_crop(img, 3, 2).pixels == std::vector<uint8_t>{1, 2, 11, 12, 21, 22});
    CHECK(has(error_of([&] { crop(img, 3, 0, 2, 1); }), "does not fit in a 4x5 image"));
    CHECK(has(error_of([&] { center_crop(img, 5, 5); }), "larger than the 4x5 image"));

    // random_crop: reproducible from the seed, and every position of a 3x4 window in 4x5 appears
    RandomStream a(1), b(1);
    CHECK(random_crop(img, 3, 4, a).pixels == random_crop(img, 3, 4, b).pixels);
    std::set<uint8_t> corners;
    RandomStream r(2);
    for (int i = 0; i < 200; ++i) corners.insert(random_crop(img, 3, 4, r).pixels[0]);
    CHECK(corners == std::set<uint8_t>{0, 1, 10, 11});

    const io::ImageU8 row = counting(1, 3);  // 0 1 2
    CHECK(pad(row, 0, 0, 2, 1).pixels == std::vector<uint8_t>{0, 0, 0, 1, 2, 0});
    CHECK(pad(row, 0, 0, 2, 1, PadMode::constant, {9, 0, 0}).pixels == std::vector<uint8_t>{9, 9, 0, 1, 2, 9});
    CHECK(pad(row, 0, 0, 2, 2, PadMode::edge).pixels == std::vector<uint8_t>{0, 0, 0, 1, 2, 2, 2});
    CHECK(pad(row, 0, 0, 2, 2, PadMode::reflect).pixels == std::vector<uint8_t>{2, 1, 0, 1, 2, 1, 0});  // numpy reflect
    CHECK(pad(counting(2, 1), 1, 1, 0, 0, PadMode::reflect).pixels == std::vector<uint8_t>{10, 0, 10, 0});
    const io::ImageU8 rgb{1, 1, 3, {1, 2, 3}};
    CHECK(pad(rgb, 1, 0, 0, 0, PadMode::constant, {7, 8, 9}).pixels == std::vector<uint8_t>{7, 8, 9, 1, 2, 3});
    CHECK(has(error_of([&] { pad(row, 0, 0, 3, 0, PadMode::reflect); }), "smaller than the 1x3 image"));

    CHECK(hflip(row).pixels == std::vector<uint8_t>{2, 1, 0});
    const io::ImageU8 two{1, 2, 3, {1, 2, 3, 4, 5, 6}};
    CHECK(hflip(two).pixels == std::vector<uint8_t>{4, 5, 6, 1, 2, 3});
    CHECK(hflip(hflip(img)).pixels == img.pixels);
}

TEST_CASE("image ops: fit_to stretches, or covers and crops the middle") {
    const io::ImageU8 src = npy_image(image_fixture("resize_rgb_src.npy"));  // 30 x 40
    for (ResizeFilter f : {ResizeFilter::bilinear, ResizeFilter::lanczos}) {
        CHECK(fit_to(src, 12, 12, f, Fit::stretch).pixels == resize(src, 12, 12, f).pixels);
        // cover: height limits, 40 * 12 / 30 = 16 wide, then the middle 12 columns
        CHECK(fit_to(src, 12, 12, f, Fit::cover).pixels == center_crop(resize(src, 12, 16, f), 12, 12).pixels);
        // a target taller than the source's shape: height limits, 40 * 24 / 30 = 32 wide
        CHECK(fit_to(src, 24, 20, f, Fit::cover).pixels == center_crop(resize(src, 24, 32, f), 24, 20).pixels);
        // a wider one: width limits, 30 * 20 / 40 = 15 high, then the middle 10 rows
        CHECK(fit_to(src, 10, 20, f, Fit::cover).pixels == center_crop(resize(src, 15, 20, f), 10, 20).pixels);
        // the same aspect ratio: no crop
        CHECK(fit_to(src, 15, 20, f, Fit::cover).pixels == resize(src, 15, 20, f).pixels);
    }
}
