// safetensors and checkpoints: round trips, every corrupt-file case, atomic writes,
// a seeded fuzz of corrupted files, reading from Python, and bitwise exact resume.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/nn/nn.h"
#include "helpers.h"
#include "optim/optim.h"

using namespace mg;
using mg::test::error_of;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        static int counter = 0;
        path = fs::temp_directory_path() / fmt::format("minigen_ckpt_test_{}_{}", ::getpid(), counter++);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
    std::error_code ec;
    fs::remove(path, ec);  // a new file: rewriting a truncated one can force a flush on close (ext4)
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A safetensors file from a header text (padded as given) and raw data bytes.
std::string raw_file(const std::string& header, const std::string& data, uint64_t header_len) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char((header_len >> (8 * i)) & 0xff);
    return out + header + data;
}
std::string raw_file(const std::string& header, const std::string& data) {
    return raw_file(header, data, header.size());
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
    Tensor x = a.contiguous(), y = b.contiguous();
    return std::memcmp(x.raw_data(), y.raw_data(), size_t(x.numel() * x.element_size())) == 0;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Files named "<something>.tmp.<pid>" left in a directory.
int leftover_temp_files(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (contains(e.path().filename().string(), ".tmp.")) ++n;
    return n;
}

io::Checkpoint sample_checkpoint() {
    manual_seed(5);
    io::Checkpoint c;
    c.model["fc.weight"] = randn({3, 4});
    c.model["fc.bias"] = randn({3}, {DType::Float64});
    c.model["bn.num_batches_tracked"] = from_vector(std::vector<int64_t>{7}, Shape{});
    c.optimizer["state.0.exp_avg"] = randn({3, 4});
    c.optimizer["group.0.lr"] = scalar_tensor(0.001, {DType::Float64});
    c.extra["ema.shadow.0"] = randn({3, 4});
    c.extra["pixels"] = from_vector<uint8_t>({0, 1, 254, 255});
    c.step = 1234;
    c.rng = {std::numeric_limits<uint64_t>::max() - 3, (uint64_t(1) << 63) + 17};  // all 64 bits matter
    c.metadata["model_name"] = "gan2d";
    c.metadata["config"] = R"({"lr": 0.0002, "betas": [0.5, 0.999], "note": "ünïcode ✓"})";
    return c;
}

void check_same(const io::TensorMap& a, const io::TensorMap& b) {
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        INFO(name);
        REQUIRE(b.count(name));
        CHECK(same_bytes(t, b.at(name)));
    }
}

}  // namespace

// ---- round trips ------------------------------------------------------------------------------
TEST_CASE("safetensors: round trip of every dtype, 0-d, empty and strided tensors, with metadata") {
    TempDir dir;
    manual_seed(1);
    io::TensorList tensors{
        {"f32", randn({2, 3})},
        {"f64", randn({4}, {DType::Float64})},
        {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()},
                                     {2, 2})},
        {"u8", from_vector<uint8_t>({0, 7, 128, 255, 3})},
        {"scalar", scalar_tensor(-2.5)},
        {"empty", zeros({0})},
        {"empty2d", zeros({3, 0}, {DType::Int64})},
        {"transposed", randn({3, 5}).t()},  // written dense
        {"special", from_vector<float>({NAN, INFINITY, -INFINITY, -0.0f, 1e-45f})},
    };
    io::Metadata meta{{"format", "pt"}, {"note", "tab\t quote\" ünïcode"}};
    const std::string path = dir.file("all.safetensors");
    io::save_safetensors(path, tensors, meta);

    io::SafetensorsContents back = io::load_safetensors(path);
    CHECK(back.metadata == meta);
    REQUIRE(back.tensors.size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        INFO(name);
        REQUIRE(back.tensors.count(name));
        CHECK(same_bytes(back.tensors.at(name), t));
        if (t.numel() > 0) CHECK(back.tensors.at(name).is_contiguous());
    }

    // The layout the spec asks for: an 8-byte aligned data start, a JSON object first,
    // and tensors in the given order.
    std::string bytes = read_bytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    CHECK((8 + n) % 8 == 0);
    CHECK(bytes[8] == '{');
    auto header = nlohmann::ordered_json::parse(bytes.substr(8, n));
    CHECK(header.begin().key() == "__metadata__");
    CHECK(header["f32"]["dtype"] == "F32");
    CHECK(header["f32"]["data_offsets"] == nlohmann::json::array({0, 24}));
    CHECK(header["f64"]["data_offsets"] == nlohmann::json::array({24, 56}));
    CHECK(header["scalar"]["shape"] == nlohmann::json::array());
    CHECK(bytes.size() == 8 + n + 24 + 32 + 32 + 5 + 4 + 0 + 0 + 60 + 20);

    CHECK(contains(error_of([&] { io::save_safetensors(dir.file("x"), io::TensorList{{"a", zeros({1})}, {"a", zeros({1})}}); }),
                   "tensor 'a' given twice"));
    CHECK(contains(error_of([&] { io::save_safetensors(dir.file("x"), io::TensorList{{"__metadata__", zeros({1})}}); }),
                   "'__metadata__' cannot name a tensor"));
}

TEST_CASE("checkpoint: round trip of model, optimizer, extra, step, RNG state and metadata") {
    TempDir dir;
    io::Checkpoint c = sample_checkpoint();
    const std::string path = dir.file("ckpt.safetensors");
    io::save_checkpoint(path, c);
    io::Checkpoint back = io::load_checkpoint(path);
    check_same(back.model, c.model);
    check_same(back.optimizer, c.optimizer);
    check_same(back.extra, c.extra);
    CHECK(back.step == c.step);
    CHECK(back.rng.seed == c.rng.seed);
    CHECK(back.rng.offset == c.rng.offset);
    CHECK(back.metadata == c.metadata);

    // The file is plain safetensors with prefixed names.
    io::SafetensorsContents raw = io::load_safetensors(path);
    CHECK(raw.tensors.count("model.fc.weight"));
    CHECK(raw.tensors.count("optim.state.0.exp_avg"));
    CHECK(raw.tensors.count("extra.ema.shadow.0"));
    CHECK(raw.metadata.at("minigen.step") == "1234");
    CHECK(raw.metadata.at("minigen.rng_seed") == "18446744073709551612");

    io::Checkpoint reserved = c;
    reserved.metadata["minigen.step"] = "5";
    CHECK(contains(error_of([&] { io::save_checkpoint(path, reserved); }), "reserved prefix"));
    io::save_safetensors(dir.file("plain.safetensors"), io::TensorMap{{"w", zeros({2})}});
    CHECK(contains(error_of([&] { io::load_checkpoint(dir.file("plain.safetensors")); }),
                   "not a minigen checkpoint"));
}

// ---- corrupt files -----------------------------------------------------------------------------
TEST_CASE("safetensors: each corrupt file gives an error naming the file, the tensor and the problem") {
    TempDir dir;
    // A valid file to start from: one F32 [3] tensor "w" (12 bytes).
    const std::string good_header = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    const std::string data(12, '\x01');

    struct Case {
        const char* what;
        std::string bytes;
        std::vector<std::string> fragments;
    };
    auto header_with = [](const std::string& tensors) { return "{" + tensors + "}"; };
    const std::vector<Case> cases = {
        {"too short", std::string("\x05\0\0", 3), {"too short"}},
        {"header longer than the file", raw_file(good_header, data, 1000), {"header length 1000", "larger than"}},
        {"huge header length", raw_file(good_header, data, ~uint64_t(0)), {"header length 18446744073709551615"}},
        {"JSON that does not parse", raw_file(R"({"w":{"dtype":"F32",)", data), {"not valid JSON", "byte offset"}},
        {"not an object", raw_file("[1, 2, 3]", ""), {"not a JSON object"}},
        {"a tensor that is not an object", raw_file(header_with(R"("w": 5)"), ""), {"tensor 'w'", "expected an object"}},
        {"unknown dtype", raw_file(header_with(R"("w":{"dtype":"F16","shape":[6],"data_offsets":[0,12]})"), data),
         {"tensor 'w'", "unsupported dtype 'F16'"}},
        {"negative dimension", raw_file(header_with(R"("w":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]})"), data),
         {"tensor 'w'", "shape[0] must be a non-negative integer"}},
        {"fractional dimension", raw_file(header_with(R"("w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,12]})"), data),
         {"tensor 'w'", "shape[0]"}},
        {"shape size overflow",
         raw_file(header_with(R"("w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,12]})"),
                  data),
         {"tensor 'w'", "more than 2^64"}},
        {"too many dimensions",
         raw_file(header_with(R"("w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]})"), "x"),
         {"tensor 'w'", "9 dimensions"}},
        {"offsets not matching dtype*shape",
         raw_file(header_with(R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]})"), data),
         {"tensor 'w'", "span 12 bytes, but dtype F32 and shape [2] need 8"}},
        {"offsets outside the data section",
         raw_file(header_with(R"("w":{"dtype":"F32","shape":[3],"data_offsets":[4,16]})"), data),
         {"tensor 'w'", "outside the data section of 12 bytes"}},
        {"offsets reversed", raw_file(header_with(R"("w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]})"), data),
         {"tensor 'w'", "data_offsets [8, 4]"}},
        {"overlapping tensors",
         raw_file(header_with(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]})"),
                  data),
         {"tensor 'b'", "overlaps tensor 'a'", "file byte offset"}},
        {"a gap between tensors",
         raw_file(header_with(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]})"),
                  data),
         {"data bytes [4, 8)", "belong to no tensor", "before tensor 'b'"}},
        {"trailing bytes", raw_file(good_header, data + "junk"), {"cover 12 bytes of the 16-byte data section"}},
        {"metadata not string to string",
         raw_file(header_with(R"("__metadata__":{"step":5},"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]})"),
                  data),
         {"__metadata__ 'step' must be a string"}},
        {"metadata not an object", raw_file(header_with(R"("__metadata__":"x")"), ""), {"__metadata__ must be an object"}},
        {"duplicate tensor name",
         raw_file(header_with(R"("w":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
                              R"("w":{"dtype":"U8","shape":[0],"data_offsets":[0,0]})"),
                  ""),
         {"the key 'w' twice"}},
        {"unknown field", raw_file(header_with(R"("w":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1})"), ""),
         {"tensor 'w'", "unknown field 'x'"}},
        {"deep nesting", raw_file(header_with(R"("w":{"dtype":"U8","shape":[[[[1]]]],"data_offsets":[0,0]})"), ""),
         {"nests deeper"}},
        // The JSON parser would stop at a NUL and ignore the rest; the format pads with spaces only.
        {"header padded with NUL bytes", raw_file(good_header + std::string(6, '\0'), data),
         {"NUL byte at byte offset 63", "padded with spaces"}},
        {"text hidden behind a NUL", raw_file(good_header + std::string(1, '\0') + R"(,"x":1})", data),
         {"NUL byte at byte offset 63"}},
    };

    // The destination of an all-or-nothing load: unchanged by every failed attempt.
    Tensor dest = from_vector<float>({9.f, 8.f, 7.f});
    for (const Case& c : cases) {
        INFO(c.what);
        const std::string path = dir.file(std::string("bad_") + std::to_string(&c - cases.data()) + ".safetensors");
        write_bytes(path, c.bytes);
        std::string err = error_of([&] {
            io::SafetensorsContents got = io::load_safetensors(path);
            io::load_into(io::TensorMap{{"w", dest}}, got.tensors, path);
        });
        INFO(err);
        CHECK(contains(err, path));
        for (const std::string& f : c.fragments) CHECK(contains(err, f));
        CHECK(dest.to_vector<float>() == std::vector<float>{9.f, 8.f, 7.f});
    }

    // The good file loads, and into the destination.
    write_bytes(dir.file("good.safetensors"), raw_file(good_header, data));
    io::SafetensorsContents got = io::load_safetensors(dir.file("good.safetensors"));
    io::load_into(io::TensorMap{{"w", dest}}, got.tensors, "good");
    CHECK(same_bytes(dest, got.tensors.at("w")));
    write_bytes(dir.file("spaces.safetensors"), raw_file(good_header + "      ", data));
    CHECK(io::load_safetensors(dir.file("spaces.safetensors")).tensors.size() == 1);
    CHECK(contains(error_of([&] { io::load_safetensors(dir.file("missing.safetensors")); }), "no such file"));
}

TEST_CASE("checkpoint: layout errors, and load_into checks every name, shape and dtype before copying") {
    TempDir dir;
    const std::string path = dir.file("c.safetensors");
    auto with_meta = [&](const std::string& meta, const std::string& tensors) {
        std::string header = R"({"__metadata__":{)" + meta + "}" + (tensors.empty() ? "" : "," + tensors) + "}";
        write_bytes(path, raw_file(header, tensors.empty() ? "" : std::string(4, '\0')));
        return error_of([&] { io::load_checkpoint(path); });
    };
    const std::string ok_meta =
        R"("minigen.format":"checkpoint","minigen.format_version":"1","minigen.step":"3","minigen.rng_seed":"1","minigen.rng_offset":"2")";
    CHECK(with_meta(ok_meta, R"("model.w":{"dtype":"F32","shape":[],"data_offsets":[0,4]})").empty());
    CHECK(contains(with_meta(ok_meta, R"("other.w":{"dtype":"F32","shape":[],"data_offsets":[0,4]})"),
                   "tensor 'other.w' is in no section"));
    CHECK(contains(with_meta(R"("minigen.format":"checkpoint","minigen.format_version":"2")", ""),
                   "format version 2 is not supported"));
    std::string bad_step = ok_meta;
    bad_step.replace(bad_step.find(R"("3")"), 3, R"("-3")");
    CHECK(contains(with_meta(bad_step, ""), "'minigen.step' = '-3' is not an unsigned decimal integer"));
    CHECK(contains(with_meta(ok_meta + R"(,"minigen.future":"x")", ""), "unknown reserved metadata key"));

    // load_into: all problems listed at once, nothing copied.
    Tensor w = from_vector<float>({1.f, 2.f}), b = from_vector<float>({3.f});
    io::TensorMap dest{{"w", w}, {"b", b}};
    io::TensorMap src{{"w", from_vector<float>({5.f, 6.f})}, {"b", from_vector<double>({7.0})}, {"extra", zeros({1})}};
    std::string err = error_of([&] { io::load_into(dest, src, "ckpt.safetensors"); });
    INFO(err);
    CHECK(contains(err, "ckpt.safetensors: cannot load, nothing was changed"));
    CHECK(contains(err, "not in the destination: extra"));
    CHECK(contains(err, "'b' is [1] float64 in the source, [1] float32 in the destination"));
    src.erase("extra");
    src["b"] = from_vector<float>({7.f});
    src.erase("w");
    CHECK(contains(error_of([&] { io::load_into(dest, src, "x"); }), "missing in the source: w"));
    CHECK(w.to_vector<float>() == std::vector<float>{1.f, 2.f});
    CHECK(b.to_vector<float>() == std::vector<float>{3.f});
    // Parameters that require grad are loaded in place (no graph recorded).
    Tensor p = zeros({2}).requires_grad_();
    io::load_into(io::TensorMap{{"p", p}}, io::TensorMap{{"p", from_vector<float>({4.f, 5.f})}}, "x");
    CHECK(p.to_vector<float>() == std::vector<float>{4.f, 5.f});
    CHECK(p.requires_grad());
}

// ---- atomic writes ---------------------------------------------------------------------------------
TEST_CASE("checkpoint: a write that fails midway leaves the previous file intact") {
    TempDir dir;
    const std::string path = dir.file("ckpt.safetensors");
    io::Checkpoint old = sample_checkpoint();
    io::save_checkpoint(path, old);
    const std::string old_bytes = read_bytes(path);

    io::Checkpoint big = sample_checkpoint();
    big.model["huge"] = zeros({1 << 18});  // 1 MiB
    big.step = 99;

    SUBCASE("the disk fills up (file size limit) in the middle of the data") {
        // The kernel refuses writes past RLIMIT_FSIZE (EFBIG once SIGXFSZ is ignored):
        // the same failure as a full disk, after the header and part of the data.
        struct rlimit saved {};
        REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
        auto old_handler = signal(SIGXFSZ, SIG_IGN);
        struct rlimit low = saved;
        low.rlim_cur = 64 * 1024;
        REQUIRE(setrlimit(RLIMIT_FSIZE, &low) == 0);
        std::string err = error_of([&] { io::save_checkpoint(path, big); });
        setrlimit(RLIMIT_FSIZE, &saved);
        signal(SIGXFSZ, old_handler);
        INFO(err);
        CHECK(contains(err, "writing"));
        CHECK(contains(err, ".tmp."));
    }
    SUBCASE("the target is a directory (the rename fails after a complete write)") {
        const std::string dir_target = dir.file("is_a_dir");
        fs::create_directories(dir_target + "/keep");
        std::string err = error_of([&] { io::save_checkpoint(dir_target, big); });
        INFO(err);
        CHECK(contains(err, "renaming"));
        CHECK(fs::is_directory(dir_target + "/keep"));
    }
    SUBCASE("the directory does not exist") {
        std::string err = error_of([&] { io::save_checkpoint(dir.file("no/such/dir/ckpt"), big); });
        CHECK(contains(err, "cannot create"));
    }
    CHECK(leftover_temp_files(dir.path) == 0);
    CHECK(read_bytes(path) == old_bytes);
    CHECK(io::load_checkpoint(path).step == old.step);

    // And a successful save replaces the file whole.
    io::save_checkpoint(path, big);
    CHECK(io::load_checkpoint(path).step == 99);
    CHECK(leftover_temp_files(dir.path) == 0);
}

// ---- fuzz ------------------------------------------------------------------------------------------
TEST_CASE("fuzz: checkpoint: 1000 randomly corrupted files each load or fail cleanly") {
    TempDir dir;
    const std::string good_path = dir.file("good.safetensors");
    io::save_checkpoint(good_path, sample_checkpoint());
    const std::string good = read_bytes(good_path);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(good[size_t(i)]);

    std::mt19937_64 rng(20240611);
    auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    const std::string path = dir.file("fuzz.safetensors");
    int loaded = 0, rejected = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) {
        std::string bytes = good;
        switch (i % 6) {
            case 0:  // truncation
                bytes.resize(size_t(uniform(bytes.size())));
                break;
            case 1:  // flipped bits anywhere
                for (uint64_t k = 0, n = 1 + uniform(8); k < n; ++k)
                    bytes[size_t(uniform(bytes.size()))] ^= char(1u << uniform(8));
                break;
            case 2:  // random bytes in the header
                for (uint64_t k = 0, n = 1 + uniform(4); k < n; ++k)
                    bytes[size_t(8 + uniform(header_len))] = char(uniform(256));
                break;
            case 3: {  // a random header length: near the true one, or anything
                uint64_t len = uniform(2) ? header_len + uniform(64) - 32 : rng();
                for (int b = 0; b < 8; ++b) bytes[size_t(b)] = char((len >> (8 * b)) & 0xff);
                break;
            }
            case 4: {  // a digit in the header changed (offsets, shapes, dims)
                std::vector<size_t> digits;
                for (size_t k = 8; k < 8 + header_len; ++k)
                    if (bytes[k] >= '0' && bytes[k] <= '9') digits.push_back(k);
                bytes[digits[size_t(uniform(digits.size()))]] = char('0' + uniform(10));
                break;
            }
            case 5: {  // the header's padding (or its end) replaced: NULs, newlines, garbage
                const size_t end = 8 + header_len;
                for (size_t k = end - 1 - uniform(8); k < end; ++k) bytes[k] = "\0\n x}"[uniform(5)];
                break;
            }
        }
        write_bytes(path, bytes);
        try {
            io::Checkpoint c = io::load_checkpoint(path);
            ++loaded;
            for (const auto& [name, t] : c.model) CHECK(t.is_contiguous());
        } catch (const Error& e) {
            ++rejected;
            if (!contains(e.what(), path)) FAIL_CHECK("error without the file name: " << e.what());
        } catch (const std::exception& e) {
            FAIL_CHECK("case " << i << ": an exception other than mg::Error: " << e.what());
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("fuzz: " << loaded << " loaded, " << rejected << " rejected, in " << seconds << " s");
    CHECK(loaded + rejected == 1000);
    CHECK(rejected > 500);
    CHECK(seconds < 5.0);
}

// ---- Python -----------------------------------------------------------------------------------------
TEST_CASE("checkpoint: tools/read_checkpoint.py reads a checkpoint into numpy arrays") {
    std::string python;
    for (const char* candidate : {"python3", "/usr/bin/python3"})
        if (std::system(fmt::format("{} -c \"import numpy\" > /dev/null 2>&1", candidate).c_str()) == 0) {
            python = candidate;
            break;
        }
    if (python.empty()) {
        MESSAGE("skipped: no python3 with numpy");
        return;
    }
    TempDir dir;
    io::Checkpoint c = sample_checkpoint();
    const std::string path = dir.file("ckpt.safetensors"), out = dir.file("out.json");
    io::save_checkpoint(path, c);
    const std::string cmd =
        fmt::format("{} {}/tools/read_checkpoint.py --json {} > {}", python, MINIGEN_SOURCE_DIR, path, out);
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto doc = nlohmann::json::parse(read_bytes(out));
    CHECK(doc["step"] == 1234);
    CHECK(doc["rng_seed"].get<uint64_t>() == c.rng.seed);
    CHECK(doc["rng_offset"].get<uint64_t>() == c.rng.offset);
    CHECK(doc["metadata"]["config"] == c.metadata["config"]);
    CHECK(doc["metadata"]["model_name"] == "gan2d");
    auto check_section = [&](const char* section, const io::TensorMap& tensors) {
        REQUIRE(doc[section].size() == tensors.size());
        for (const auto& [name, t] : tensors) {
            INFO(section << " " << name);
            const auto& entry = doc[section][name];
            CHECK(entry["shape"].get<std::vector<int64_t>>() == t.shape().vec());
            CHECK(entry["values"].get<std::vector<double>>() == t.to_vector<double>());  // exact
            const char* np_dtype = t.dtype() == DType::Float32   ? "float32"
                                   : t.dtype() == DType::Float64 ? "float64"
                                   : t.dtype() == DType::Int64   ? "int64"
                                                                 : "uint8";
            CHECK(entry["dtype"] == np_dtype);
        }
    };
    check_section("model", c.model);
    check_section("optimizer", c.optimizer);
    check_section("extra", c.extra);

    // A corrupt file: a clean error and a non-zero exit.
    std::string bytes = read_bytes(path);
    write_bytes(path, bytes.substr(0, bytes.size() - 3));
    CHECK(std::system(fmt::format("{} {}/tools/read_checkpoint.py {} > /dev/null 2>&1", python, MINIGEN_SOURCE_DIR,
                                  path)
                          .c_str()) != 0);
}

// ---- exact resume ----------------------------------------------------------------------------------
namespace {

// A Linear-ReLU-Linear regression trained with Adam, a cosine schedule and an EMA.
// Every batch is drawn from the default generator, so resuming must restore it too.
struct Trainer {
    std::shared_ptr<nn::Sequential> net;
    std::unique_ptr<optim::Adam> opt;
    std::unique_ptr<optim::CosineAnnealingLR> sched;
    std::unique_ptr<optim::ExponentialMovingAverage> ema;
    int64_t step = 0;

    explicit Trainer(uint64_t init_seed) {
        manual_seed(init_seed);
        net = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 16), std::make_shared<nn::ReLU>(),
                                               std::make_shared<nn::Linear>(16, 1));
        optim::AdamOptions o;
        o.lr = 0.01;
        o.weight_decay = 1e-4;
        opt = std::make_unique<optim::Adam>(net->parameters(), o);
        sched = std::make_unique<optim::CosineAnnealingLR>(*opt, 20, 1e-4);
        ema = std::make_unique<optim::ExponentialMovingAverage>(net->parameters(), 0.9);
    }
    void train(int steps) {
        for (int s = 0; s < steps; ++s) {
            Tensor x = randn({8, 4});
            Tensor y = sum(mul(x, x), {1}, true);
            Tensor noise = dropout(ones({8, 1}), 0.25);  // more draws from the generator
            opt->zero_grad();
            Tensor loss = mse_loss(mul((*net)(x), noise), mul(y, noise));
            loss.backward();
            optim::clip_grad_norm_(net->parameters(), 1.0);
            opt->step();
            sched->step();
            ema->update(net->parameters());
            ++step;
        }
    }
    io::Checkpoint checkpoint() const {
        io::Checkpoint c;
        for (const auto& [name, t] : net->state_dict()) c.model[name] = t;
        c.optimizer = opt->state_dict();
        for (const auto& [name, t] : sched->state_dict()) c.extra["scheduler." + name] = t;
        for (const auto& [name, t] : ema->state_dict()) c.extra["ema." + name] = t;
        c.step = step;
        c.rng = default_generator().state();
        c.metadata["model_name"] = "mlp";
        return c;
    }
    void restore(const io::Checkpoint& c, const std::string& where) {
        io::TensorMap model;
        for (const auto& [name, t] : net->state_dict()) model[name] = t;
        io::load_into(model, c.model, where);
        opt->load_state_dict(c.optimizer);
        optim::StateDict sched_sd, ema_sd;
        for (const auto& [name, t] : c.extra) {
            if (name.rfind("scheduler.", 0) == 0) sched_sd[name.substr(10)] = t;
            else if (name.rfind("ema.", 0) == 0) ema_sd[name.substr(4)] = t;
        }
        sched->load_state_dict(sched_sd);
        ema->load_state_dict(ema_sd);
        step = c.step;
        default_generator().set_state(c.rng);
    }
};

}  // namespace

TEST_CASE("checkpoint: train N steps, save, load into a fresh state, train M more == N+M uninterrupted, bitwise") {
    TempDir dir;
    const int n = 7, m = 6;
    Trainer straight(42);
    straight.train(n + m);
    const GeneratorState straight_rng = default_generator().state();

    Trainer first(42);
    first.train(n);
    const std::string path = dir.file("resume.safetensors");
    io::save_checkpoint(path, first.checkpoint());

    Trainer resumed(12345);  // different initial weights and generator state
    resumed.restore(io::load_checkpoint(path), path);
    CHECK(resumed.step == n);
    resumed.train(m);
    const GeneratorState resumed_rng = default_generator().state();

    nn::StateDict a = straight.net->state_dict(), b = resumed.net->state_dict();
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        INFO(name);
        CHECK(same_bytes(t, b.at(name)));
    }
    for (size_t i = 0; i < straight.ema->shadow().size(); ++i)
        CHECK(same_bytes(straight.ema->shadow()[i], resumed.ema->shadow()[i]));
    CHECK(straight.opt->param_groups()[0].lr == resumed.opt->param_groups()[0].lr);
    CHECK(straight.opt->state(0).step == resumed.opt->state(0).step);
    CHECK(resumed_rng.seed == straight_rng.seed);
    CHECK(resumed_rng.offset == straight_rng.offset);
    // The comparison can fail: one step fewer is visibly different.
    Trainer short_run(42);
    short_run.train(n + m - 1);
    CHECK_FALSE(same_bytes(short_run.net->state_dict().at("0.weight"), a.at("0.weight")));
}
