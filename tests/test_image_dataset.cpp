// open_image_dataset (core/data/image_dataset.h): the npy source (layouts, labels, alpha,
// errors, corrupted headers), the emoji source on a tiny fake package (always) and on the
// installed npm packages (when tools/run has installed them).
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/data/augment.h"
#include "core/data/holdout.h"
#include "core/data/image_dataset.h"
#include "core/io/npy.h"
#include "image_test_util.h"

using namespace mg;
using namespace mg::data;
using namespace mg::test;
namespace fs = std::filesystem;

namespace {

ImageDatasetOptions small_options(const std::string& cache_dir, int64_t size, int64_t channels) {
    ImageDatasetOptions o;
    o.cache.cache_dir = cache_dir;
    o.cache.height = o.cache.width = size;
    o.cache.channels = channels;
    o.cache.progress = false;
    o.cache.log = [](const std::string&) {};
    return o;
}

// n images h x w x c of pseudo-random bytes, as NHWC.
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    RandomStream r(seed);
    for (auto& b : v) b = uint8_t(r.next_u32());
    return v;
}

}  // namespace

TEST_CASE("npy images: NHWC, NCHW and grey arrays give the same packed images; labels name classes") {
    TempDir dir("npyimg");
    const std::string root = dir.path.string();
    const int64_t n = 4, h = 5, w = 6;
    const std::vector<uint8_t> nhwc = random_bytes(size_t(n * h * w * 3), 1);
    io::write_npy(root + "/nhwc.npy", from_vector(nhwc, {n, h, w, 3}));
    io::write_npy(root + "/nchw.npy", from_vector(nhwc, {n, h, w, 3}).permute({0, 3, 1, 2}));
    io::write_npy(root + "/labels.npy", from_vector<int64_t>({2, 0, 2, 1}, {n}));
    const ImageDatasetOptions o = small_options(root + "/cache", 5, 3);
    ImageDatasetOptions rect = o;
    rect.cache.width = 6;
    const ImageDataset a = open_image_dataset("npy:" + root + "/nhwc.npy,labels=" + root + "/labels.npy", rect);
    const ImageDataset b = open_image_dataset("npy:" + root + "/nchw.npy", rect);
    REQUIRE(a.images.size() == n);
    CHECK(a.images.classes() == std::vector<std::string>{"0", "1", "2"});
    CHECK(a.images.label(0) == 2);
    CHECK(a.images.label(3) == 1);
    CHECK(b.images.classes() == std::vector<std::string>{""});
    CHECK(std::equal(a.images.pixels(), a.images.pixels() + n * 3 * h * w, b.images.pixels()));
    // [C, H, W] of image 1 at (c=2, y=3, x=4) is byte ((1*h + 3)*w + 4)*3 + 2 of the NHWC array.
    CHECK(a.images.image(1)[(2 * h + 3) * w + 4] == nhwc[size_t(((1 * h + 3) * w + 4) * 3 + 2)]);

    // Grey [N, H, W] to RGB repeats the level; RGB to grey is io::luma; another size is fitted.
    io::write_npy(root + "/grey.npy", from_vector(std::vector<uint8_t>(nhwc.begin(), nhwc.begin() + n * h * w), {n, h, w}));
    const ImageDataset g = open_image_dataset("npy:" + root + "/grey.npy", rect);
    CHECK(g.images.channels() == 3);
    CHECK(g.images.image(0)[0] == nhwc[0]);
    CHECK(g.images.image(0)[2 * h * w] == nhwc[0]);
    ImageDatasetOptions grey = rect;
    grey.cache.channels = 1;
    const ImageDataset l = open_image_dataset("npy:" + root + "/nhwc.npy", grey);
    CHECK(l.images.image(0)[1] == io::luma(nhwc[3], nhwc[4], nhwc[5]));
    const ImageDataset small = open_image_dataset("npy:" + root + "/nhwc.npy", small_options(root + "/c", 3, 3));
    CHECK((small.images.height() == 3 && small.images.width() == 3));

    // RGBA over the background.
    io::write_npy(root + "/rgba.npy", from_vector<uint8_t>({200, 100, 0, 0, 200, 100, 0, 255}, {2, 1, 1, 4}));
    ImageDatasetOptions one = small_options(root + "/c", 1, 3);
    one.cache.background = {10, 20, 30};
    const ImageDataset rgba = open_image_dataset("npy:" + root + "/rgba.npy,layout=nhwc", one);
    CHECK(std::vector<uint8_t>(rgba.images.pixels(), rgba.images.pixels() + 6) == std::vector<uint8_t>{10, 20, 30, 200, 100, 0});
}

TEST_CASE("npy images: ambiguous layouts, wrong dtypes and labels, unknown sources are errors naming them") {
    TempDir dir("npyerr");
    const std::string root = dir.path.string();
    const std::string p = root;
    io::write_npy(p + "/amb.npy", zeros({2, 3, 4, 3}, {DType::UInt8}));
    io::write_npy(p + "/f32.npy", zeros({2, 4, 4, 3}));
    io::write_npy(p + "/nochan.npy", zeros({2, 5, 4, 7}, {DType::UInt8}));
    io::write_npy(p + "/lab.npy", from_vector<int64_t>({0, -1}, {2}));
    io::write_npy(p + "/lab3.npy", from_vector<int64_t>({0, 1, 1}, {3}));
    const ImageDatasetOptions o = small_options(p + "/cache", 4, 3);
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/amb.npy", o); }), "add layout=nhwc or layout=nchw"));
    CHECK(open_image_dataset("npy:" + p + "/amb.npy,layout=nchw", o).images.size() == 2);
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/f32.npy", o); }), "must be uint8"));
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/nochan.npy", o); }), "no channel axis of 1, 3 or 4"));
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/amb.npy,layout=nchw,labels=" + p + "/lab.npy", o); }),
              "label -1 of image 1"));
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/amb.npy,layout=nchw,labels=" + p + "/lab3.npy", o); }),
              "expected int64 or uint8 [2]"));
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/amb.npy,size=3", o); }), "unknown npy option size=3"));
    CHECK(has(error_of([&] { open_image_dataset("npy:" + p + "/missing.npy", o); }), "missing.npy"));
    CHECK(has(error_of([&] { open_image_dataset("mnist", o); }), "--data mnist: unknown data source; valid: folder:DIR"));
    CHECK(has(error_of([&] { open_image_dataset("emoji:apple", o); }), "unknown emoji vendor apple; valid: google, twitter"));
}

TEST_CASE("fuzz: 300 corrupted image .npy files each open or fail with an error naming the file") {
    TempDir dir("npyfuzz");
    const std::string root = dir.path.string();
    const std::string good = root + "/good.npy", bad = root + "/bad.npy";
    io::write_npy(good, from_vector(random_bytes(2 * 5 * 5 * 3, 3), {2, 5, 5, 3}));
    const std::string bytes = mg::test::file_bytes(good);
    const ImageDatasetOptions o = small_options(root + "/cache", 5, 3);
    RandomStream r(77);
    int opened = 0, rejected = 0;
    const char* shapes[] = {"(2, 5, 5, 3)", "(0, 5, 5, 3)", "(2, 3, 5, 5)", "(2, 3, 5, 3)", "(99999999999, 5, 5, 3)",
                            "(2, 5, 15)", "(150,)", "(2, -5, 5, 3)", "(1, 1, 1, 1, 1, 150)", "(4294967296, 4294967296, 0, 3)"};
    for (int i = 0; i < 300; ++i) {
        std::string b = bytes;
        if (i % 3 == 0) {  // another shape in the header, padded to the same length
            const size_t at = b.find("(2, 5, 5, 3)"), end = b.find(')', at) + 1;
            std::string s = shapes[r.below(std::size(shapes))];
            std::string header = b.substr(0, at) + s + b.substr(end, b.find('\n') - end);
            const size_t data_at = b.find('\n') + 1;
            header.resize(data_at - 1, ' ');
            b = header + "\n" + b.substr(data_at);
        } else {
            for (int k = 0; k < 1 + int(r.below(4)); ++k) b[r.below(std::min<uint64_t>(b.size(), 128))] = char(r.next_u32());
            if (i % 5 == 0) b.resize(r.below(b.size()));
        }
        mg::test::write_bytes(bad, b);
        try {
            open_image_dataset("npy:" + bad, o);
            ++opened;
        } catch (const Error& e) {
            ++rejected;
            CHECK(has(e.what(), "bad.npy"));
        }
    }
    MESSAGE("image npy fuzz: " << opened << " opened, " << rejected << " rejected");
    CHECK(rejected > 100);
    CHECK(opened > 10);
}

TEST_CASE("emoji: a fake package: categories sorted, Component left out, skin tones kept, vendors paired") {
    TempDir dir("emoji");
    const std::string root = dir.path.string();
    const std::string npm = root + "/npm";
    const char* json = R"([
      {"image": "a.png", "category": "Smileys & Emotion", "has_img_google": true, "has_img_twitter": true,
       "skin_variations": {"1F3FB": {"image": "a-1f3fb.png", "has_img_google": true, "has_img_twitter": false}}},
      {"image": "b.png", "category": "Animals & Nature", "has_img_google": true, "has_img_twitter": true},
      {"image": "c.png", "category": "Component", "has_img_google": true, "has_img_twitter": true},
      {"image": "d.png", "category": "Animals & Nature", "has_img_google": false, "has_img_twitter": true}
    ])";
    for (const char* vendor : {"google", "twitter"}) {
        const std::string package = npm + "/node_modules/emoji-datasource-" + std::string(vendor);
        fs::create_directories(package);
        mg::test::write_bytes(package + "/emoji.json", json);
        for (const char* name : {"a.png", "a-1f3fb.png", "b.png", "c.png", "d.png"})
            make_png(package + "/img/" + vendor + "/64/" + name, 8, 8, 3, uint32_t(name[0]) + (vendor[0] == 't'));
    }
    ImageDatasetOptions o = small_options(root + "/cache", 4, 3);
    o.npm_dir = npm;
    const ImageDataset g = open_image_dataset("emoji:google", o);
    CHECK(g.images.classes() == std::vector<std::string>{"Animals & Nature", "Smileys & Emotion"});
    REQUIRE(g.images.size() == 3);  // a, its skin tone, b
    CHECK(g.images.label(0) == 1);
    CHECK(g.images.label(1) == 1);
    CHECK(g.images.label(2) == 0);
    CHECK(g.pairs.empty());
    const ImageDataset both = open_image_dataset("emoji:google,twitter", o);
    REQUIRE(both.images.size() == 6);  // google a, a-1f3fb, b; twitter a, b, d
    CHECK(both.pairs == std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {2, 4}});
    CHECK(open_image_dataset("emoji:google,twitter", o).images.built() == false);  // cached
    // Each selection of vendors keeps its own cache file: going back and forth rebuilds nothing.
    CHECK(open_image_dataset("emoji:google", o).images.built() == false);
    CHECK(open_image_dataset("emoji:twitter", o).images.built() == true);
    CHECK(open_image_dataset("emoji:google", o).images.built() == false);
    CHECK(open_image_dataset("emoji:google,twitter", o).images.built() == false);

    mg::test::write_bytes(npm + "/node_modules/emoji-datasource-google/emoji.json",
                          R"([{"image": "../../x.png", "category": "A", "has_img_google": true}])");
    CHECK(has(error_of([&] { open_image_dataset("emoji:google", o); }), "is not a plain .png file name"));
    mg::test::write_bytes(npm + "/node_modules/emoji-datasource-google/emoji.json", std::string(100, '[') + std::string(100, ']'));
    CHECK(has(error_of([&] { open_image_dataset("emoji:google", o); }), "emoji.json"));
    o.npm_dir = root + "/nowhere";
    CHECK(has(error_of([&] { open_image_dataset("emoji:twitter", o); }), "is not installed (tools/run installs"));
}

TEST_CASE("emoji: the installed packages: 3,781 images per vendor in 9 classes, every emoji paired") {
    const std::string npm = default_npm_dir();
    if (!fs::is_directory(npm + "/node_modules/emoji-datasource-google") ||
        !fs::is_directory(npm + "/node_modules/emoji-datasource-twitter")) {
        MESSAGE("skipped: the emoji packages are not installed in " << npm << " (tools/run installs them)");
        return;
    }
    TempDir dir("emojireal");
    const std::string root = dir.path.string();
    ImageDatasetOptions o = small_options(root + "/cache", 16, 3);
    o.npm_dir = npm;
    const int threads = std::getenv("MINIGEN_EMOJI_THREADS") ? std::atoi(std::getenv("MINIGEN_EMOJI_THREADS")) : 0;
    o.cache.threads = threads;
    if (threads > 0) o.cache.height = o.cache.width = 64;  // the timing run: full size
    const auto t0 = std::chrono::steady_clock::now();
    const ImageDataset d = open_image_dataset("emoji", o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("emoji cache of " << d.images.size() << " images at " << o.cache.height << "x" << o.cache.width
                              << " built in " << seconds << " s (threads " << threads << ")");
    CHECK(d.images.size() == 2 * 3781);
    CHECK(d.images.classes().size() == 9);
    CHECK(d.pairs.size() == 3781);
    for (const auto& [i, j] : d.pairs) CHECK(d.images.label(i) == d.images.label(j));
}

TEST_CASE("holdout_split: every 10th image of each class, groups kept together") {
    // Class 0: 25 images (the 10th and 20th held out), class 1: 5 interleaved (none held out).
    std::vector<int64_t> labels(30, 0);
    for (int64_t i : {1, 4, 7, 11, 13}) labels[size_t(i)] = 1;
    const HoldoutSplit s = holdout_split(labels);
    // Class 0's images in order: 0 2 3 5 6 8 9 10 12 14 (10th = 14) ... 24 (20th).
    CHECK(s.test == std::vector<int64_t>{14, 24});
    CHECK(s.train.size() == 28);
    for (int64_t i : s.test) CHECK(std::find(s.train.begin(), s.train.end(), i) == s.train.end());

    // Two vendors: images 0..19 and their twins 20..39; a group follows its first image.
    std::vector<int64_t> two(40, 0);
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (int64_t i = 0; i < 20; ++i) pairs.push_back({i, i + 20});
    const HoldoutSplit g = holdout_split(two, pairs);
    CHECK(g.test == std::vector<int64_t>{9, 19, 29, 39});
    CHECK_THROWS_WITH_AS(holdout_split(two, std::vector<std::pair<int64_t, int64_t>>{{0, 40}}),
                         doctest::Contains("pair (0, 40) outside 40 images"), mg::Error);
}
