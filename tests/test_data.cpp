// Data: IDX parsing and its errors, Fashion-MNIST, the toy 2-D sets, the loader
// (order, coverage, the worker thread) and the batch transforms.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "core/data/fashion_mnist.h"
#include "core/data/idx.h"
#include "core/data/loader.h"
#include "core/data/random_stream.h"
#include "core/data/toy2d.h"
#include "core/data/transforms.h"
#include "kernels/device.h"
#include "helpers.h"

using namespace mg;
using namespace mg::data;
using namespace mg::test;
namespace fs = std::filesystem;

namespace {

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(f.good());
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// An IDX file built byte by byte (independent of write_idx_uint8).
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> b = {0, 0, 0x08, uint8_t(dims.size())};
    for (uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) b.push_back(uint8_t(d >> shift));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

std::vector<uint8_t> pattern(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t((i * 37 + 11) % 256);
    return v;
}

// Compresses with the system's gzip: a gzip writer independent of ours.
bool gzip_file(const std::string& from, const std::string& to) {
    return std::system(("gzip -c -n '" + from + "' > '" + to + "'").c_str()) == 0;
}

// Sets an environment variable for the lifetime of the object, then restores it.
struct ScopedEnv {
    std::string name;
    std::optional<std::string> old;
    ScopedEnv(const std::string& n, const std::optional<std::string>& value) : name(n) {
        if (const char* v = std::getenv(n.c_str())) old = v;
        if (value) setenv(n.c_str(), value->c_str(), 1);
        else unsetenv(n.c_str());
    }
    ~ScopedEnv() {
        if (old) setenv(name.c_str(), old->c_str(), 1);
        else unsetenv(name.c_str());
    }
};

}  // namespace

// ---- IDX --------------------------------------------------------------------------

TEST_CASE("idx: reads plain and gzip files") {
    TempDir dir;
    const std::vector<uint8_t> data = pattern(3 * 4 * 5);
    write_bytes(dir / "plain-idx3", idx_bytes({3, 4, 5}, data));
    Tensor plain = read_idx_uint8(dir / "plain-idx3", 3);
    CHECK(plain.dtype() == DType::UInt8);
    CHECK(plain.shape() == Shape{3, 4, 5});
    CHECK(plain.to_vector<uint8_t>() == data);

    // The writer, plain and gzip, against the hand-made bytes.
    write_idx_uint8(dir / "written-idx3", plain);
    CHECK(read_bytes(dir / "written-idx3") == idx_bytes({3, 4, 5}, data));
    write_idx_uint8(dir / "written-idx3.gz", plain);
    std::vector<uint8_t> gz = read_bytes(dir / "written-idx3.gz");
    REQUIRE(gz.size() > 2);
    CHECK(gz[0] == 0x1f);  // gzip magic
    CHECK(gz[1] == 0x8b);
    Tensor unzipped = read_idx_uint8(dir / "written-idx3.gz", 3);
    CHECK(unzipped.shape() == Shape{3, 4, 5});
    CHECK(unzipped.to_vector<uint8_t>() == data);

    REQUIRE(gzip_file(dir / "plain-idx3", dir / "system-idx3.gz"));
    CHECK(read_idx_uint8(dir / "system-idx3.gz", 3).to_vector<uint8_t>() == data);

    // Labels: 1 dimension.
    write_bytes(dir / "labels-idx1", idx_bytes({6}, {9, 0, 0, 3, 0, 2}));
    CHECK(read_idx_uint8(dir / "labels-idx1", 1).to_vector<uint8_t>() == std::vector<uint8_t>{9, 0, 0, 3, 0, 2});
    // Zero examples is a valid (empty) file.
    write_bytes(dir / "empty-idx3", idx_bytes({0, 28, 28}, {}));
    CHECK(read_idx_uint8(dir / "empty-idx3", 3).shape() == Shape{0, 28, 28});
}

TEST_CASE("idx: missing file, bad magic, short header") {
    TempDir dir;
    std::string e = error_of([&] { read_idx_uint8(dir / "nope.gz", 3); });
    CHECK(contains(e, "nope.gz"));
    CHECK(contains(e, "no such file"));

    write_bytes(dir / "labels-as-images", idx_bytes({4}, {1, 2, 3, 4}));
    e = error_of([&] { read_idx_uint8(dir / "labels-as-images", 3); });
    CHECK(contains(e, "labels-as-images"));
    CHECK(contains(e, "bad magic"));
    CHECK(contains(e, "00 00 08 01"));  // what was read
    CHECK(contains(e, "00 00 08 03"));  // what was expected
    CHECK(contains(e, "0x00000803"));

    write_bytes(dir / "text", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    e = error_of([&] { read_idx_uint8(dir / "text", 1); });
    CHECK(contains(e, "68 65 6c 6c"));
    CHECK(contains(e, "not an IDX file"));

    write_bytes(dir / "float-idx", {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});
    CHECK(contains(error_of([&] { read_idx_uint8(dir / "float-idx", 1); }), "type code 0x0d"));

    write_bytes(dir / "two-bytes", {0, 0});
    e = error_of([&] { read_idx_uint8(dir / "two-bytes", 1); });
    CHECK(contains(e, "truncated"));
    CHECK(contains(e, "4 bytes at offset 0, found 2"));

    write_bytes(dir / "short-dims", {0, 0, 8, 3, 0, 0, 0, 5, 0, 0});
    e = error_of([&] { read_idx_uint8(dir / "short-dims", 3); });
    CHECK(contains(e, "12 bytes of dimensions at offset 4, found 6"));
}

TEST_CASE("idx: truncated data, extra data, overflowing dims") {
    TempDir dir;
    // dims promise 10*4*4 = 160 bytes; only 100 are there.
    write_bytes(dir / "short-idx3", idx_bytes({10, 4, 4}, pattern(100)));
    std::string e = error_of([&] { read_idx_uint8(dir / "short-idx3", 3); });
    CHECK(contains(e, "short-idx3"));
    CHECK(contains(e, "truncated"));
    CHECK(contains(e, "160 bytes of data at offset 16"));
    CHECK(contains(e, "found 100"));

    write_bytes(dir / "long-idx3", idx_bytes({2, 4, 4}, pattern(40)));
    e = error_of([&] { read_idx_uint8(dir / "long-idx3", 3); });
    CHECK(contains(e, "do not match the file size"));
    CHECK(contains(e, "8 more"));

    // 65536^3 bytes would be 256 TiB: refused from the header alone.
    write_bytes(dir / "huge-idx3", idx_bytes({65536, 65536, 65536}, pattern(10)));
    e = error_of([&] { read_idx_uint8(dir / "huge-idx3", 3); });
    CHECK(contains(e, "[65536, 65536, 65536]"));
    CHECK(contains(e, "promise more than"));
    // A header claiming 2^32 - 1 labels is within the limit, but the file is short: refused before reading.
    write_bytes(dir / "liar-idx1", idx_bytes({0xffffffffu}, pattern(10)));
    e = error_of([&] { read_idx_uint8(dir / "liar-idx1", 1); });
    CHECK(contains(e, "4294967295 bytes of data at offset 8"));
    CHECK(contains(e, "found 10"));

    // The same lie inside a gzip stream (compressed by the system's gzip): the data runs out.
    REQUIRE(gzip_file(dir / "short-idx3", dir / "short-idx3.gz"));
    e = error_of([&] { read_idx_uint8(dir / "short-idx3.gz", 3); });
    CHECK(contains(e, "short-idx3.gz"));
    CHECK(contains(e, "truncated"));
    CHECK(contains(e, "promise 160 bytes of data at offset 16, found 100"));
    REQUIRE(gzip_file(dir / "long-idx3", dir / "long-idx3.gz"));
    CHECK(contains(error_of([&] { read_idx_uint8(dir / "long-idx3.gz", 3); }), "do not match the file size"));
}

TEST_CASE("idx: cut-off and corrupt gzip streams") {
    TempDir dir;
    const std::vector<uint8_t> data = pattern(50 * 28 * 28);
    write_idx_uint8(dir / "good-idx3.gz", from_vector(data, Shape{50, 28, 28}));
    std::vector<uint8_t> gz = read_bytes(dir / "good-idx3.gz");
    REQUIRE(gz.size() > 100);
    CHECK(read_idx_uint8(dir / "good-idx3.gz", 3).to_vector<uint8_t>() == data);

    // Cut in half: the stream ends early.
    write_bytes(dir / "half-idx3.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
    std::string e = error_of([&] { read_idx_uint8(dir / "half-idx3.gz", 3); });
    CHECK(contains(e, "half-idx3.gz"));
    CHECK(contains(e, "truncated"));
    CHECK(contains(e, "cut off"));

    // Only the 8-byte trailer (CRC32 + size) cut: all data arrives, the stream is still incomplete.
    write_bytes(dir / "no-trailer-idx3.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 8));
    e = error_of([&] { read_idx_uint8(dir / "no-trailer-idx3.gz", 3); });
    CHECK(contains(e, "no-trailer-idx3.gz"));
    CHECK(contains(e, "trailer"));

    // A wrong CRC: found only because the reader reads past the promised data.
    std::vector<uint8_t> bad_crc = gz;
    bad_crc[bad_crc.size() - 8] ^= 0xff;
    write_bytes(dir / "bad-crc-idx3.gz", bad_crc);
    e = error_of([&] { read_idx_uint8(dir / "bad-crc-idx3.gz", 3); });
    CHECK(contains(e, "bad-crc-idx3.gz"));
    CHECK(contains(e, "corrupt"));

    // Garbage in the deflate data.
    std::vector<uint8_t> garbled = gz;
    for (size_t i = 20; i < 60; ++i) garbled[i] = uint8_t(0xff - garbled[i]);
    write_bytes(dir / "garbled-idx3.gz", garbled);
    e = error_of([&] { read_idx_uint8(dir / "garbled-idx3.gz", 3); });
    CHECK(contains(e, "garbled-idx3.gz"));
    CHECK((contains(e, "corrupt") || contains(e, "bad magic")));
}

// ---- Fashion-MNIST ------------------------------------------------------------------

TEST_CASE("fashion-mnist: both splits load with the published counts and first labels") {
    if (!fs::exists(std::string(kFashionMnistDefaultDir) + "/train-images-idx3-ubyte.gz")) {
        MESSAGE("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipped");
        return;
    }
    ScopedEnv no_env("MINIGEN_DATA", std::nullopt);
    Dataset train = load_fashion_mnist(Split::Train);
    CHECK(train.images.shape() == Shape{60000, 1, 28, 28});
    CHECK(train.images.dtype() == DType::UInt8);
    CHECK(train.labels.shape() == Shape{60000});
    CHECK(train.labels.dtype() == DType::Int64);
    std::vector<int64_t> labels = train.labels.to_vector<int64_t>();
    // Reference values read from the files with Python's gzip module.
    CHECK(std::vector<int64_t>(labels.begin(), labels.begin() + 10) == std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5});
    CHECK(fashion_mnist_classes()[size_t(labels[0])] == "Ankle boot");
    std::vector<int64_t> per_class(10, 0);
    for (int64_t l : labels) per_class[size_t(l)]++;
    CHECK(per_class == std::vector<int64_t>(10, 6000));
    const uint8_t* px = train.images.data<uint8_t>();
    CHECK(std::accumulate(px, px + 784, int64_t(0)) == 76247);  // first image
    double mean = double(std::accumulate(px, px + 60000 * 784, int64_t(0))) / (60000.0 * 784.0 * 255.0);
    CHECK(mean == doctest::Approx(0.2860406).epsilon(1e-6));  // the published 0.2860

    Dataset test = load_fashion_mnist("test");
    CHECK(test.images.shape() == Shape{10000, 1, 28, 28});
    CHECK(test.size() == 10000);
    std::vector<int64_t> tl = test.labels.to_vector<int64_t>();
    CHECK(std::vector<int64_t>(tl.begin(), tl.begin() + 10) == std::vector<int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
    const uint8_t* tp = test.images.data<uint8_t>();
    CHECK(std::accumulate(tp, tp + 784, int64_t(0)) == 33456);
}

TEST_CASE("fashion-mnist: directory resolution and its errors") {
    TempDir dir;
    {
        ScopedEnv env("MINIGEN_DATA", std::nullopt);
        CHECK(fashion_mnist_dir() == std::string(kFashionMnistDefaultDir));
        CHECK(fashion_mnist_dir(dir.path.string()) == dir.path.string());
    }
    {
        ScopedEnv env("MINIGEN_DATA", dir.path.string());
        CHECK(fashion_mnist_dir() == dir.path.string());
        CHECK(fashion_mnist_dir("/explicit") == "/explicit");  // --data wins over the environment
        // MINIGEN_DATA names an empty directory: the error says where and what to install.
        std::string e = error_of([] { load_fashion_mnist(Split::Train); });
        CHECK(contains(e, "train-images-idx3-ubyte.gz"));
        CHECK(contains(e, dir.path.string()));
        CHECK(contains(e, "MINIGEN_DATA"));
        CHECK(contains(e, "apt-get install dataset-fashion-mnist"));
    }
    std::string e = error_of([&] { load_fashion_mnist(Split::Test, dir / "missing"); });
    CHECK(contains(e, "does not exist"));
    CHECK(contains(e, "--data"));
    CHECK(contains(e, "apt-get install dataset-fashion-mnist"));

    // Files that parse but hold the wrong number of examples, plain (not gzipped).
    write_bytes(dir / "t10k-images-idx3-ubyte", idx_bytes({10, 28, 28}, pattern(10 * 784)));
    write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({10}, pattern(10)));
    e = error_of([&] { load_fashion_mnist(Split::Test, dir.path.string()); });
    CHECK(contains(e, "holds 10 images, the test split has 10000"));
    CHECK(contains(error_of([] { parse_split("valid"); }), "unknown split 'valid'"));
}

// ---- toy 2-D sets -------------------------------------------------------------------

TEST_CASE("toy2d: ring of 8 Gaussians") {
    Toy2dSet ring = make_toy2d(Toy2dKind::Ring, 40000, 7);
    CHECK(ring.points.shape() == Shape{40000, 2});
    CHECK(ring.points.dtype() == DType::Float32);
    REQUIRE(ring.centres.shape() == Shape{8, 2});
    CHECK(ring.mode_std == 0.02);
    std::vector<float> c = ring.centres.to_vector<float>(), p = ring.points.to_vector<float>();
    for (int k = 0; k < 8; ++k) {
        CHECK(c[size_t(2 * k)] == doctest::Approx(2.0 * std::cos(2.0 * M_PI * k / 8.0)).epsilon(1e-6));
        CHECK(c[size_t(2 * k + 1)] == doctest::Approx(2.0 * std::sin(2.0 * M_PI * k / 8.0)).epsilon(1e-6));
    }
    // Each point near one centre; each mode gets ~1/8 of the points with per-axis std 0.02.
    std::vector<int64_t> count(8, 0);
    std::vector<double> sq(8, 0.0);
    for (int64_t i = 0; i < 40000; ++i) {
        int best = 0;
        double best_d = 1e9;
        for (int k = 0; k < 8; ++k) {
            double d = std::hypot(p[size_t(2 * i)] - c[size_t(2 * k)], p[size_t(2 * i + 1)] - c[size_t(2 * k + 1)]);
            if (d < best_d) best_d = d, best = k;
        }
        CHECK(best_d < 0.02 * 6);
        count[size_t(best)]++;
        sq[size_t(best)] += best_d * best_d;
    }
    for (int k = 0; k < 8; ++k) {
        CHECK(std::abs(count[size_t(k)] / 40000.0 - 0.125) < 0.01);
        CHECK(std::sqrt(sq[size_t(k)] / (2.0 * double(count[size_t(k)]))) == doctest::Approx(0.02).epsilon(0.05));
    }
    // Seeded: the same seed repeats, another differs.
    CHECK(make_toy2d(Toy2dKind::Ring, 100, 7).points.to_vector<float>() ==
          std::vector<float>(p.begin(), p.begin() + 200));
    CHECK(make_toy2d(Toy2dKind::Ring, 100, 8).points.to_vector<float>() !=
          std::vector<float>(p.begin(), p.begin() + 200));
}

TEST_CASE("toy2d: 5x5 grid and swiss roll") {
    Toy2dSet grid = make_toy2d(parse_toy2d("grid"), 10000, 1);
    REQUIRE(grid.centres.shape() == Shape{25, 2});
    std::vector<float> c = grid.centres.to_vector<float>();
    std::set<std::pair<float, float>> centres;
    for (int k = 0; k < 25; ++k) centres.insert({c[size_t(2 * k)], c[size_t(2 * k + 1)]});
    CHECK(centres.size() == 25);
    CHECK(centres.count({-4.f, -4.f}) == 1);
    CHECK(centres.count({4.f, 4.f}) == 1);
    CHECK(centres.count({0.f, 2.f}) == 1);
    std::vector<float> p = grid.points.to_vector<float>();
    for (size_t i = 0; i < p.size(); ++i) {
        float nearest = std::round(p[i] / 2.0f) * 2.0f;
        CHECK(std::abs(p[i] - nearest) < 0.05 * 6);
    }

    Toy2dSet roll = make_toy2d(Toy2dKind::SwissRoll, 5000, 3);
    CHECK(roll.points.shape() == Shape{5000, 2});
    CHECK(roll.centres.shape() == Shape{0, 2});
    std::vector<float> r = roll.points.to_vector<float>();
    double rmin = 1e9, rmax = 0;
    for (size_t i = 0; i < 5000; ++i) {
        double radius = std::hypot(r[2 * i], r[2 * i + 1]) * 7.5;  // = t, up to the noise
        rmin = std::min(rmin, radius);
        rmax = std::max(rmax, radius);
    }
    CHECK(rmin > 1.5 * M_PI - 1.5);
    CHECK(rmin < 1.5 * M_PI + 0.5);
    CHECK(rmax > 4.5 * M_PI - 0.5);
    CHECK(rmax < 4.5 * M_PI + 1.5);
    CHECK(make_toy2d(Toy2dKind::SwissRoll, 5000, 3).points.to_vector<float>() == r);
    CHECK(contains(error_of([] { parse_toy2d("moons"); }), "unknown data set 'moons'"));
}

TEST_CASE("random stream: seeded, uniform, normal, unbiased below()") {
    RandomStream a(5, 1), b(5, 1), c(5, 2), d(6, 1);
    std::vector<uint32_t> va, vb, vc, vd;
    for (int i = 0; i < 16; ++i) va.push_back(a.next_u32()), vb.push_back(b.next_u32()), vc.push_back(c.next_u32()),
        vd.push_back(d.next_u32());
    CHECK(va == vb);
    CHECK(va != vc);
    CHECK(va != vd);

    RandomStream r(42);
    const int n = 200000;
    double sum = 0, sum_sq = 0, nsum = 0, nsum_sq = 0;
    std::vector<int> bins(6, 0);
    for (int i = 0; i < n; ++i) {
        double u = r.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        sum += u;
        sum_sq += u * u;
        double z = r.normal();
        nsum += z;
        nsum_sq += z * z;
        bins[size_t(r.below(6))]++;
    }
    CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
    CHECK(sum_sq / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12.0).epsilon(0.02));
    CHECK(std::abs(nsum / n) < 0.01);
    CHECK(nsum_sq / n == doctest::Approx(1.0).epsilon(0.02));
    for (int k = 0; k < 6; ++k) CHECK(std::abs(bins[size_t(k)] - n / 6.0) < 5 * std::sqrt(n / 6.0));
}

// ---- loader -------------------------------------------------------------------------

namespace {

// N images [N, 1, 2, 3] whose pixels encode their index, and labels = index % 10.
struct Toy {
    Tensor images, labels;
    explicit Toy(int64_t n) {
        std::vector<uint8_t> px(static_cast<size_t>(n * 6));
        std::vector<int64_t> lb(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < 6; ++j) px[size_t(i * 6 + j)] = uint8_t((i * 7 + j * 31) % 256);
            lb[size_t(i)] = i % 10;
        }
        images = from_vector(px, Shape{n, 1, 2, 3});
        labels = from_vector(lb, Shape{n});
    }
};

std::vector<std::vector<int64_t>> epoch_indices(DataLoader& loader) {
    std::vector<std::vector<int64_t>> out;
    while (auto b = loader.next()) out.push_back(b->indices);
    return out;
}

}  // namespace

TEST_CASE("loader: every example once per epoch; batches hold the right examples") {
    Toy toy(1000);
    for (bool background : {false, true}) {
        DataLoader loader(toy.images, toy.labels, {.batch_size = 64, .seed = 3, .background = background});
        CHECK(loader.batches_per_epoch() == 16);
        for (int epoch = 0; epoch < 2; ++epoch) {
            std::vector<int64_t> seen;
            int64_t batches = 0;
            for (Batch& b : loader) {
                CHECK(b.epoch == epoch);
                CHECK(b.index == batches);
                const int64_t expect = batches < 15 ? 64 : 1000 - 15 * 64;
                REQUIRE(int64_t(b.indices.size()) == expect);
                CHECK(b.images.shape() == Shape{expect, 1, 2, 3});
                CHECK(b.images.dtype() == DType::UInt8);  // no transform: as stored
                std::vector<uint8_t> px = b.images.to_vector<uint8_t>();
                std::vector<int64_t> lb = b.labels.to_vector<int64_t>();
                for (int64_t i = 0; i < expect; ++i) {
                    const int64_t src = b.indices[size_t(i)];
                    CHECK(lb[size_t(i)] == src % 10);
                    CHECK(px[size_t(i * 6 + 5)] == uint8_t((src * 7 + 5 * 31) % 256));
                }
                seen.insert(seen.end(), b.indices.begin(), b.indices.end());
                ++batches;
            }
            CHECK(batches == 16);
            std::sort(seen.begin(), seen.end());
            std::vector<int64_t> all(1000);
            std::iota(all.begin(), all.end(), 0);
            CHECK(seen == all);
        }
        CHECK(loader.epoch() == 2);
    }
}

TEST_CASE("loader: drop_last and no shuffle") {
    Toy toy(1000);
    DataLoader loader(toy.images, toy.labels, {.batch_size = 64, .drop_last = true, .seed = 3});
    CHECK(loader.batches_per_epoch() == 15);
    std::vector<std::vector<int64_t>> batches = epoch_indices(loader);
    REQUIRE(batches.size() == 15);
    std::set<int64_t> unique;
    for (const auto& b : batches) {
        CHECK(b.size() == 64);
        unique.insert(b.begin(), b.end());
    }
    CHECK(unique.size() == 960);

    DataLoader ordered(toy.images, toy.labels, {.batch_size = 300, .shuffle = false});
    std::vector<std::vector<int64_t>> in_order = epoch_indices(ordered);
    REQUIRE(in_order.size() == 4);
    CHECK(in_order[3].size() == 100);
    CHECK(in_order[1].front() == 300);
    CHECK(in_order[3].back() == 999);
    CHECK(contains(error_of([&] { DataLoader(toy.images, toy.labels, {.batch_size = 2000, .drop_last = true}); }),
                   "give no batch"));
    CHECK(contains(error_of([&] { DataLoader(toy.images, toy.labels.slice(0, 0, 10), {}); }), "1000 images but 10 labels"));
}

TEST_CASE("loader: order is reproducible per seed and differs across seeds and epochs") {
    Toy toy(500);
    DataLoader a(toy.images, toy.labels, {.batch_size = 50, .seed = 11});
    DataLoader b(toy.images, toy.labels, {.batch_size = 50, .seed = 11});
    DataLoader c(toy.images, toy.labels, {.batch_size = 50, .seed = 12});
    auto a0 = epoch_indices(a), b0 = epoch_indices(b), c0 = epoch_indices(c);
    auto a1 = epoch_indices(a);
    CHECK(a0 == b0);
    CHECK(a0 != c0);
    CHECK(a0 != a1);
    CHECK(a.epoch_order(0) == DataLoader(toy.images, toy.labels, {.batch_size = 50, .seed = 11}).epoch_order(0));

    // Fisher-Yates is uniform: over 8000 epochs each of 8 examples comes first ~1000 times.
    Toy small(8);
    DataLoader s(small.images, small.labels, {.batch_size = 8, .seed = 1});
    std::vector<int> first(8, 0);
    for (int e = 0; e < 8000; ++e) first[size_t(s.epoch_order(e)[0])]++;
    for (int k = 0; k < 8; ++k) CHECK(std::abs(first[size_t(k)] - 1000) < 5 * 30);
}

TEST_CASE("loader: the worker thread gives the same batches as synchronous loading") {
    Toy toy(333);
    Transform t = transforms::compose({transforms::crop(1), transforms::hflip(), transforms::to_float(PixelRange::MinusOneOne)});
    DataLoader sync(toy.images, toy.labels, {.batch_size = 32, .seed = 9, .transform = t, .background = false});
    DataLoader async(toy.images, toy.labels, {.batch_size = 32, .seed = 9, .transform = t, .background = true});
    int64_t compared = 0;
    for (int epoch = 0; epoch < 3; ++epoch) {
        for (;;) {
            std::optional<Batch> x = sync.next(), y = async.next();
            REQUIRE(x.has_value() == y.has_value());
            if (!x) break;
            CHECK(x->images.dtype() == DType::Float32);
            CHECK(x->indices == y->indices);
            CHECK(x->labels.to_vector<int64_t>() == y->labels.to_vector<int64_t>());
            CHECK(x->images.to_vector<float>() == y->images.to_vector<float>());
            ++compared;
        }
    }
    CHECK(compared == 3 * 11);

    // seek: resuming at (epoch 1, batch 4) continues exactly there.
    DataLoader fresh(toy.images, toy.labels, {.batch_size = 32, .seed = 9, .transform = t});
    epoch_indices(fresh);
    for (int i = 0; i < 4; ++i) fresh.next();
    std::optional<Batch> expected = fresh.next();
    DataLoader resumed(toy.images, toy.labels, {.batch_size = 32, .seed = 9, .transform = t});
    resumed.next();  // starts the worker; seek must discard what it prepared
    resumed.seek(1, 4);
    std::optional<Batch> got = resumed.next();
    REQUIRE(got.has_value());
    CHECK(got->epoch == 1);
    CHECK(got->index == 4);
    CHECK(got->indices == expected->indices);
    CHECK(got->images.to_vector<float>() == expected->images.to_vector<float>());
}

TEST_CASE("loader: an exception in the worker reaches the consumer; shutdown is clean") {
    Toy toy(100);
    Transform failing = [](const Tensor& batch, RandomStream&) -> Tensor {
        MG_CHECK(batch.size(0) != 4, "test transform: refusing the batch of 4");
        return batch;
    };
    // Batches of 8: 12 full ones, then a batch of 4 at index 12.
    DataLoader loader(toy.images, toy.labels, {.batch_size = 8, .seed = 2, .transform = failing});
    for (int i = 0; i < 12; ++i) REQUIRE(loader.next().has_value());
    CHECK(error_of([&] { loader.next(); }) == "test transform: refusing the batch of 4");
    CHECK(error_of([&] { loader.next(); }) == "test transform: refusing the batch of 4");  // and stays failed

    // Destroying loaders whose worker is blocked on a full queue returns promptly.
    for (int i = 0; i < 20; ++i) {
        DataLoader busy(toy.images, toy.labels, {.batch_size = 1, .seed = uint64_t(i), .prefetch = 2});
        busy.next();
    }
    DataLoader never_started(toy.images, toy.labels, {.batch_size = 10});
}

// ---- transforms ---------------------------------------------------------------------

TEST_CASE("transforms: to_float ranges") {
    std::vector<uint8_t> levels(256);
    std::iota(levels.begin(), levels.end(), 0);
    Tensor u8 = from_vector(levels, Shape{1, 1, 16, 16});
    std::vector<float> a = to_float(u8, PixelRange::ZeroOne).to_vector<float>();
    std::vector<float> b = to_float(u8, PixelRange::MinusOneOne).to_vector<float>();
    for (int v = 0; v < 256; ++v) {
        CHECK(a[size_t(v)] == doctest::Approx(v / 255.0).epsilon(1e-6));
        CHECK(b[size_t(v)] == doctest::Approx(2.0 * v / 255.0 - 1.0).epsilon(1e-6));
    }
    CHECK(a.front() == 0.0f);
    CHECK(a.back() == 1.0f);
    CHECK(b.front() == -1.0f);
    CHECK(b.back() == 1.0f);
    CHECK(contains(error_of([] { to_float(zeros({2, 2}), PixelRange::ZeroOne); }), "expected uint8"));
}

TEST_CASE("transforms: random horizontal flip") {
    // 1000 images [1, 2, 3]; each row 0 1 2 / 3 4 5, so a flip is visible.
    std::vector<uint8_t> px;
    for (int i = 0; i < 1000; ++i)
        for (uint8_t v : {0, 1, 2, 3, 4, 5}) px.push_back(v);
    Tensor x = from_vector(px, Shape{1000, 1, 2, 3});
    RandomStream r1(1), r0(1), rh(1), rh2(1);
    CHECK(random_hflip(x, r0, 0.0).to_vector<uint8_t>() == px);
    std::vector<uint8_t> all = random_hflip(x, r1, 1.0).to_vector<uint8_t>();
    CHECK(std::vector<uint8_t>(all.begin(), all.begin() + 6) == std::vector<uint8_t>{2, 1, 0, 5, 4, 3});
    std::vector<uint8_t> half = random_hflip(x, rh, 0.5).to_vector<uint8_t>();
    int flipped = 0;
    for (int i = 0; i < 1000; ++i) {
        bool f = half[size_t(6 * i)] == 2;
        bool same = half[size_t(6 * i)] == 0;
        REQUIRE((f || same));
        flipped += f;
    }
    CHECK(std::abs(flipped - 500) < 5 * 16);
    CHECK(random_hflip(x, rh2, 0.5).to_vector<uint8_t>() == half);  // seeded
    // Floats too.
    RandomStream rf(3);
    CHECK(random_hflip(from_vector<float>({1, 2, 3}, Shape{1, 1, 1, 3}), rf, 1.0).to_vector<float>() ==
          std::vector<float>{3, 2, 1});
}

TEST_CASE("transforms: random crop with padding") {
    // 400 copies of a 5x5 ramp 1..25; each output must be the ramp shifted by (dy, dx) in [-2, 2]^2, zero-filled.
    const int64_t n = 400;
    std::vector<uint8_t> ramp(25);
    std::iota(ramp.begin(), ramp.end(), 1);
    std::vector<uint8_t> px;
    for (int64_t i = 0; i < n; ++i) px.insert(px.end(), ramp.begin(), ramp.end());
    Tensor x = from_vector(px, Shape{n, 1, 5, 5});
    RandomStream r0(4);
    CHECK(random_crop(x, r0, 0).to_vector<uint8_t>() == px);
    RandomStream r(4);
    std::vector<uint8_t> out = random_crop(x, r, 2).to_vector<uint8_t>();
    std::set<std::pair<int, int>> shifts;
    for (int64_t i = 0; i < n; ++i) {
        bool matched = false;
        for (int dy = -2; dy <= 2 && !matched; ++dy)
            for (int dx = -2; dx <= 2 && !matched; ++dx) {
                bool ok = true;
                for (int y = 0; y < 5 && ok; ++y)
                    for (int xx = 0; xx < 5 && ok; ++xx) {
                        int sy = y + dy, sx = xx + dx;
                        uint8_t want = (sy >= 0 && sy < 5 && sx >= 0 && sx < 5) ? ramp[size_t(sy * 5 + sx)] : 0;
                        ok = out[size_t(i * 25 + y * 5 + xx)] == want;
                    }
                if (ok) matched = true, shifts.insert({dy, dx});
            }
        REQUIRE(matched);
    }
    CHECK(shifts.size() == 25);  // every offset occurs
}

TEST_CASE("transforms: dynamic binarization") {
    RandomStream r(10);
    for (int level : {0, 64, 200, 255}) {
        Tensor x = full({100, 1, 28, 28}, level, {DType::UInt8});
        std::vector<float> b = binarize(x, r).to_vector<float>();
        double mean = 0;
        for (float v : b) {
            REQUIRE((v == 0.0f || v == 1.0f));
            mean += v;
        }
        mean /= double(b.size());
        const double p = level / 255.0, sigma = std::sqrt(p * (1 - p) / double(b.size()));
        CHECK(std::abs(mean - p) <= 5 * sigma + 1e-12);
    }
    Tensor f = full({50000}, 0.3);
    std::vector<float> bf = binarize(f, r).to_vector<float>();
    CHECK(std::accumulate(bf.begin(), bf.end(), 0.0) / 50000.0 == doctest::Approx(0.3).epsilon(0.03));
    // A fresh draw each call, the same draw for the same stream.
    Tensor half = full({1000}, 0.5);
    RandomStream s1(3), s2(3);
    std::vector<float> d1 = binarize(half, s1).to_vector<float>();
    CHECK(d1 == binarize(half, s2).to_vector<float>());
    CHECK(d1 != binarize(half, s1).to_vector<float>());
}

TEST_CASE("transforms: augment with only hflip is hflip then to_float; with nothing, to_float") {
    RandomStream fill(8);
    std::vector<uint8_t> px(40 * 3 * 5 * 6);
    for (uint8_t& v : px) v = uint8_t(fill.next_u32());
    const Tensor x = from_vector(px, Shape{40, 3, 5, 6});
    for (PixelRange range : {PixelRange::ZeroOne, PixelRange::MinusOneOne}) {
        RandomStream a(5), b(5), c(5);
        const std::vector<float> flipped = augment(x, {.hflip = true, .range = range}, a).to_vector<float>();
        CHECK(flipped == to_float(random_hflip(x, b, 0.5), range).to_vector<float>());
        CHECK(flipped != to_float(x, range).to_vector<float>());
        CHECK(augment(x, {.range = range}, c).to_vector<float>() == to_float(x, range).to_vector<float>());
    }
}

TEST_CASE("loader: augmented batches are reproducible, differ from batch to batch, and stay on the pixel grid") {
    // 64 copies of one RGB 16x16 image: batches differ only by their augmentation.
    RandomStream fill(3);
    std::vector<uint8_t> one(3 * 16 * 16), px;
    for (uint8_t& v : one) v = uint8_t(fill.next_u32());
    for (int i = 0; i < 64; ++i) px.insert(px.end(), one.begin(), one.end());
    const Tensor images = from_vector(px, Shape{64, 3, 16, 16});
    const Transform t = transforms::augment({.crop = 4, .hflip = true, .jitter = {0.2, 0.2, 0.2, 0.05}});
    const LoaderOptions o{.batch_size = 8, .seed = 7, .transform = t, .background = false};
    DataLoader a(images, Tensor(), o), b(images, Tensor(), o), other(images, Tensor(), {.batch_size = 8, .seed = 8, .transform = t});
    std::vector<std::vector<float>> batches;
    for (int i = 0; i < 8; ++i) {
        const std::vector<float> x = a.next()->images.to_vector<float>();
        CHECK(x == b.next()->images.to_vector<float>());
        CHECK(x != other.next()->images.to_vector<float>());
        for (float v : x) {  // (v + 1) * 127.5 is a byte: the 256 levels of to_float, nothing between
            const float level = (v + 1.0f) * 127.5f;
            REQUIRE((level >= 0.0f && level <= 255.0f && std::abs(level - std::round(level)) < 1e-3f));
        }
        batches.push_back(x);
    }
    for (size_t i = 1; i < batches.size(); ++i) CHECK(batches[i] != batches[0]);
    // Images of one batch differ from each other too (their own crop, flip and jitter).
    const size_t image = 3 * 16 * 16;
    CHECK(std::vector<float>(batches[0].begin(), batches[0].begin() + image) !=
          std::vector<float>(batches[0].begin() + image, batches[0].begin() + 2 * image));
    // A resumed loader (seek) and the worker thread give the same bytes.
    DataLoader resumed(images, Tensor(), {.batch_size = 8, .seed = 7, .transform = t, .background = true});
    resumed.seek(0, 5);
    CHECK(resumed.next()->images.to_vector<float>() == batches[5]);
}

TEST_CASE("loader: device cuda without a usable GPU is a clear error at construction") {
    if (kernels::cuda::available()) return;  // tests/gpu checks the uploads where there is a GPU
    Tensor images = zeros({4, 1, 2, 2}, {DType::UInt8});
    data::LoaderOptions o;
    o.device = Device::CUDA;
    try {
        data::DataLoader loader(images, Tensor(), o);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(test::starts_with(e.what(), "DataLoader: device cuda: "));
    }
}
