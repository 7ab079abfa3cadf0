// folder:DIR (core/data/image_folder.h) and its packed cache (core/data/image_cache.h):
// labels and order, what is skipped, symlink loops, names that are not UTF-8, the errors;
// cache hits, rebuilds on a changed file or setting, and a damaged cache file rebuilt.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/data/image_cache.h"
#include "core/data/image_folder.h"
#include "core/io/image.h"
#include "image_test_util.h"

using namespace mg;
using namespace mg::data;
using namespace mg::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> relative_paths(const ImageFolder& f) {
    std::vector<std::string> out;
    for (const ImageFile& file : f.files) out.push_back(file.path.substr(f.root.size() + 1));
    return out;
}

// Every file below `dir` with its size and modification time, to see that nothing changed.
std::vector<std::string> listing(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        struct stat st {};
        ::lstat(e.path().c_str(), &st);
        out.push_back(fmt::format("{} {} {}", e.path().string(), st.st_size, st.st_mtim.tv_nsec + st.st_mtim.tv_sec));
    }
    std::sort(out.begin(), out.end());
    return out;
}

ImageCacheOptions cache_options(const std::string& cache_dir, std::vector<std::string>* log = nullptr) {
    ImageCacheOptions o;
    o.cache_dir = cache_dir;
    o.height = 8, o.width = 8;
    o.progress = false;
    o.log = [log](const std::string& m) {
        if (log) log->push_back(m);
    };
    return o;
}

void set_mtime(const std::string& path, int64_t seconds) {
    struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("image folder: classes are the first-level folders, bytewise; files sorted; junk skipped") {
    TempDir dir;
    make_png(dir / "b/x.png", 2, 2, 1, 1);
    make_png(dir / "a/2.png", 2, 2, 1, 2);
    make_png(dir / "a/10.png", 2, 2, 1, 3);
    make_png(dir / "a/sub/deeper/y.png", 2, 2, 1, 4);
    make_png(dir / "a/UPPER.PNG", 2, 2, 1, 5);
    fs::copy_file(test::image_fixture("jpeg_grey.jpg"), dir / "a/photo.JpEg");
    fs::create_directories(dir / "B");
    fs::copy_file(test::image_fixture("jpeg_grey.jpg"), dir / "B/z.jpg");
    make_png(dir / "B/w.png", 2, 2, 1, 6);
    make_png(dir / ".hidden/h.png", 2, 2, 1, 7);
    make_png(dir / "a/._junk.png", 2, 2, 1, 8);
    test::write_bytes(dir / "a/readme.txt", "not an image");
    test::write_bytes(dir / "a/png", "no extension");
    fs::create_directories(dir / "empty_class");

    FolderScanOptions one;
    one.min_images_per_class = 1;
    const ImageFolder f = scan_image_folder(dir.str() + "/", one);
    CHECK(f.root == dir.str());
    CHECK(f.classes == std::vector<std::string>{"B", "a", "b"});  // bytewise: upper case first
    CHECK(relative_paths(f) == std::vector<std::string>{"B/w.png", "B/z.jpg", "a/10.png", "a/2.png", "a/UPPER.PNG",
                                                        "a/photo.JpEg", "a/sub/deeper/y.png", "b/x.png"});
    std::vector<int64_t> labels;
    for (const ImageFile& file : f.files) labels.push_back(file.label);
    CHECK(labels == std::vector<int64_t>{0, 0, 1, 1, 1, 1, 1, 2});
    CHECK(has(error_of([&] { scan_image_folder(dir.str()); }), "class 'b' has 1 image; a class needs at least 2"));
}

TEST_CASE("image folder: one folder of images is one class; symlink loops are walked once") {
    TempDir dir;
    make_png(dir / "one.png", 2, 2, 1, 1);
    make_png(dir / "two.png", 2, 2, 1, 2);
    ImageFolder f = scan_image_folder(dir.str());
    CHECK(f.classes == std::vector<std::string>{""});
    CHECK(f.files.size() == 2);

    TempDir classes;
    make_png(classes / "cat/1.png", 2, 2, 1, 1);
    make_png(classes / "cat/2.png", 2, 2, 1, 2);
    fs::create_directory_symlink(classes.str(), classes / "cat/loop");           // back to the root
    fs::create_directory_symlink(classes.str() + "/cat", classes / "cat/self");  // to itself
    fs::create_directory_symlink(classes.str() + "/cat", classes / "alias");     // a second way in
    fs::create_symlink(classes / "missing.png", classes / "cat/broken.png");
    f = scan_image_folder(classes.str());
    CHECK(f.classes == std::vector<std::string>{"cat"});  // "alias" leads to a folder already walked
    CHECK(relative_paths(f) == std::vector<std::string>{"cat/1.png", "cat/2.png"});
}

TEST_CASE("image folder: names that are not UTF-8 are kept as bytes and shown escaped") {
    TempDir dir;
    const std::string cls = "caf\xe9";  // Latin-1, not UTF-8
    make_png(dir / (cls + "/a\xff.png"), 2, 2, 1, 1);
    make_png(dir / (cls + "/b.png"), 2, 2, 1, 2);
    make_png(dir / "ok/\xc3\xa9t\xc3\xa9.png", 2, 2, 1, 3);  // UTF-8
    FolderScanOptions one;
    one.min_images_per_class = 1;
    const ImageFolder f = scan_image_folder(dir.str(), one);
    CHECK(f.classes == std::vector<std::string>{"caf\xe9", "ok"});
    CHECK(relative_paths(f)[0] == cls + "/a\xff.png");
    const std::string e = error_of([&] { scan_image_folder(dir.str()); });
    CHECK(has(e, "class 'ok' has 1 image"));
    CHECK(printable_name("caf\xe9/\x01\xc3\xa9") == "'caf\\xe9/\\x01\xc3\xa9'");
}

TEST_CASE("image folder: errors name the folder") {
    TempDir dir;
    CHECK(has(error_of([&] { scan_image_folder(dir / "missing"); }), "no such folder"));
    test::write_bytes(dir / "file", "x");
    CHECK(has(error_of([&] { scan_image_folder(dir / "file"); }), "not a directory"));
    fs::create_directories(dir / "empty");
    std::string e = error_of([&] { scan_image_folder(dir / "empty"); });
    CHECK(has(e, "/empty'"));
    CHECK(has(e, "no images in it"));
    test::write_bytes(dir / "empty/notes.txt", "x");
    CHECK(has(error_of([&] { scan_image_folder(dir / "empty"); }), "no images in it"));
    make_png(dir / "mixed/loose.png", 2, 2, 1, 1);
    make_png(dir / "mixed/c/1.png", 2, 2, 1, 2);
    make_png(dir / "mixed/c/2.png", 2, 2, 1, 3);
    CHECK(has(error_of([&] { scan_image_folder(dir / "mixed"); }), "images both directly in it"));
}

TEST_CASE("image cache: built once, then mapped; pixels are the decoded, fitted images") {
    TempDir data, cache;
    make_png(data / "a/1.png", 12, 16, 3, 1);
    make_png(data / "a/2.png", 9, 9, 1, 2);
    fs::create_directories(data / "b");
    fs::copy_file(test::image_fixture("rgba.png"), data / "b/3.png");
    fs::copy_file(test::image_fixture("jpeg_progressive.jpg"), data / "b/4.jpg");
    const std::vector<std::string> before = listing(data.str());

    std::vector<std::string> log;
    ImageCacheOptions o = cache_options(cache.str(), &log);
    o.threads = 2;
    const PackedImages first = open_image_folder(data.str(), o);
    CHECK(first.built());
    CHECK(first.size() == 4);
    CHECK(first.channels() == 3);
    CHECK(first.classes() == std::vector<std::string>{"a", "b"});
    const ImageFolder folder = scan_image_folder(data.str());
    for (int64_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        CHECK(first.label(i) == folder.files[size_t(i)].label);
        const io::ImageU8 want = fit_to(io::read_image(folder.files[size_t(i)].path), 8, 8, o.filter, o.fit);
        std::vector<uint8_t> chw(192);
        for (int64_t p = 0; p < 64; ++p)
            for (int64_t c = 0; c < 3; ++c) chw[size_t(c * 64 + p)] = want.pixels[size_t(p * 3 + c)];
        CHECK(std::vector<uint8_t>(first.image(i), first.image(i) + 192) == chw);
    }

    o.threads = 1;
    const PackedImages second = open_image_folder(data.str() + "/./", o);  // the same folder named another way
    CHECK(!second.built());
    CHECK(second.key() == first.key());
    CHECK(second.path() == first.path());
    CHECK(std::equal(first.pixels(), first.pixels() + 4 * 192, second.pixels()));
    CHECK(log.empty());
    CHECK(listing(data.str()) == before);  // nothing written beside the images
    CHECK(fs::directory_iterator(cache.str()) != fs::directory_iterator());
    for (const auto& e : fs::directory_iterator(cache.str())) CHECK(e.path().extension() == ".mgimg");
}

TEST_CASE("image cache: a changed file or setting rebuilds; a damaged cache is rebuilt, not trusted") {
    TempDir data, cache;
    make_png(data / "1.png", 10, 10, 3, 1);
    make_png(data / "2.png", 10, 10, 3, 2);
    std::vector<std::string> log;
    ImageCacheOptions o = cache_options(cache.str(), &log);
    const PackedImages first = open_image_folder(data.str(), o);
    CHECK(first.built());

    set_mtime(data / "2.png", 1000000000);  // touched
    const PackedImages touched = open_image_folder(data.str(), o);
    CHECK(touched.built());
    CHECK(touched.key() != first.key());
    CHECK(touched.path() == first.path());
    CHECK(has(log.at(0), "images changed (added, removed or modified); rebuilding"));
    CHECK(!open_image_folder(data.str(), o).built());

    o.filter = ResizeFilter::lanczos;  // another setting: its own cache file
    const PackedImages lanczos = open_image_folder(data.str(), o);
    CHECK(lanczos.built());
    CHECK(lanczos.path() != first.path());
    o.filter = ResizeFilter::bicubic;
    CHECK(!open_image_folder(data.str(), o).built());

    // Cut short: rebuilt, with the reason logged.
    const std::string path = first.path();
    const std::string whole = test::file_bytes(path);
    test::write_bytes(path, whole.substr(0, whole.size() - 3));
    log.clear();
    CHECK(open_image_folder(data.str(), o).built());
    REQUIRE(log.size() == 1);
    CHECK(has(log[0], "cut short"));
    CHECK(has(log[0], "rebuilding"));
    CHECK(test::file_bytes(path) == whole);

    // A label out of range and a header that lies about the count: errors naming offsets.
    std::string bad = whole;
    bad[bad.size() - 4] = 9;
    test::write_bytes(path, bad);
    CHECK(has(error_of([&] { read_image_cache(path); }), fmt::format("label 9 at offset {}", whole.size() - 4)));
    CHECK(open_image_folder(data.str(), o).built());
    bad = whole;
    bad[31] = char(0x7f);  // count ~ 2^63
    test::write_bytes(path, bad);
    CHECK(has(error_of([&] { read_image_cache(path); }), "images at offset 24 need"));
    bad = whole;
    bad[47] = char(0x7f);  // class names ~ 2^31 bytes
    test::write_bytes(path, bad);
    CHECK(has(error_of([&] { read_image_cache(path); }), "bytes of class names at offset 44"));
    test::write_bytes(path, whole.substr(0, 50));
    CHECK(has(error_of([&] { read_image_cache(path); }), "cut short inside the 112-byte header"));
    test::write_bytes(path, "MGIMGPK2" + whole.substr(8));
    CHECK(has(error_of([&] { read_image_cache(path); }), "bad magic at offset 0"));
}

TEST_CASE("image cache: a bad image is an error naming it, or skipped and counted with skip_bad") {
    TempDir data, cache;
    make_png(data / "1.png", 10, 10, 3, 1);
    test::write_bytes(data / "2.png", "GIF89a pretending");
    make_png(data / "3.png", 10, 10, 1, 3);
    std::vector<std::string> log;
    ImageCacheOptions o = cache_options(cache.str(), &log);
    o.channels = 1;
    const std::string e = error_of([&] { open_image_folder(data.str(), o); });
    CHECK(has(e, "2.png"));
    CHECK(has(e, "not a PNG or JPEG"));
    CHECK(has(e, "--skip-bad"));
    CHECK(fs::directory_iterator(cache.str()) == fs::directory_iterator());  // no cache, no temporary

    o.skip_bad = true;
    const PackedImages p = open_image_folder(data.str(), o);
    CHECK(p.size() == 2);
    CHECK(p.skipped() == 1);
    CHECK(p.channels() == 1);
    bool counted = false;
    for (const std::string& m : log) counted = counted || has(m, "skipped 1 of 3 images");
    CHECK(counted);
    const io::ImageU8 three = fit_to(io::read_image(data / "3.png", [] {
        io::DecodeOptions d;
        d.channels = 1;
        return d;
    }()), 8, 8, o.filter, o.fit);
    CHECK(std::vector<uint8_t>(p.image(1), p.image(1) + 64) == three.pixels);
}
