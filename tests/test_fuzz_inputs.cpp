// Hostile input files: a seeded fuzz of every reader of untrusted files (.npy, IDX plain
// and gzip, model options from --config and from a checkpoint's config), plus each case a
// fuzz of the CLI once found. Every file must load or fail with an mg::Error naming it:
// no crash, hang, other exception or unbounded allocation. tools/run test runs the cases
// named "fuzz: *" again under AddressSanitizer and UndefinedBehaviorSanitizer.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "core/data/fashion_mnist.h"
#include "core/data/idx.h"
#include "core/io/checkpoint.h"
#include "core/io/npy.h"
#include "helpers.h"
#include "kernels/cpu/gemm_blocking.h"
#include "models/eval/evaluate.h"
#include "models/eval/protocol.h"
#include "models/registry.h"
#ifdef MINIGEN_TESTS_HAVE_REPORT  // the CLI's library is linked in
#include "tools/model_options.h"
#endif

using namespace mg;
using mg::test::error_of;
using mg::test::TempDir;

namespace {

using Clock = std::chrono::steady_clock;

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    REQUIRE(f.good());
}
bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A reader that wrongly waits on a FIFO fails the test (the process is killed) instead of hanging CI.
struct HangGuard {
    explicit HangGuard(unsigned seconds) { ::alarm(seconds); }
    ~HangGuard() { ::alarm(0); }
};

// Runs one read of a fuzzed file: true when it loaded; an mg::Error must name `name`.
bool loads_or_fails_cleanly(const std::function<void()>& read, const std::string& name, int case_index) {
    try {
        read();
        return true;
    } catch (const Error& e) {
        if (!contains(e.what(), name)) FAIL_CHECK("case " << case_index << ": error without '" << name << "': " << e.what());
        if (std::string(e.what()).size() > 2000)
            FAIL_CHECK("case " << case_index << ": a message of " << std::string(e.what()).size() << " bytes");
    } catch (const std::exception& e) {
        FAIL_CHECK("case " << case_index << ": an exception other than mg::Error: " << e.what());
    }
    return false;
}

// ---- gzip, written independently of zlib: stored (uncompressed) deflate blocks ---------------
uint32_t crc32(const std::string& bytes) {
    uint32_t crc = 0xffffffffu;
    for (unsigned char b : bytes) {
        crc ^= b;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
std::string le32(uint32_t v) {
    return {char(v & 0xff), char((v >> 8) & 0xff), char((v >> 16) & 0xff), char((v >> 24) & 0xff)};
}
std::string gzip_stored(const std::string& raw) {
    std::string out = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3};
    size_t pos = 0;
    do {
        const size_t n = std::min<size_t>(65535, raw.size() - pos);
        const bool last = pos + n == raw.size();
        out += {char(last), char(n & 0xff), char(n >> 8), char(~n & 0xff), char((~n >> 8) & 0xff)};
        out += raw.substr(pos, n);
        pos += n;
    } while (pos < raw.size());
    return out + le32(crc32(raw)) + le32(uint32_t(raw.size()));
}

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& data) {
    std::string b = {0, 0, 8, char(dims.size())};
    for (uint32_t d : dims) b += {char(d >> 24), char((d >> 16) & 0xff), char((d >> 8) & 0xff), char(d & 0xff)};
    return b + data;
}
std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = char((i * 37 + 11) % 256);
    return s;
}

// ---- .npy built by hand ----------------------------------------------------------------------
// A version 1 file (version 2 when the header needs more than 2 bytes of length).
std::string npy_file(const std::string& header, const std::string& data) {
    const bool v2 = header.size() > 65535;
    std::string out = std::string("\x93NUMPY", 6) + char(v2 ? 2 : 1) + '\0';
    if (v2) out += le32(uint32_t(header.size()));
    else out += {char(header.size() & 0xff), char(header.size() >> 8)};
    return out + header + data;
}
std::string npy_header(const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
}

// A safetensors file holding only metadata (a checkpoint's "config" string, say).
std::string metadata_only_safetensors(const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = {{"__metadata__", metadata}};
    std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out;
    for (int i = 0; i < 8; ++i) out += char((uint64_t(text.size()) >> (8 * i)) & 0xff);
    return out + text;
}

}  // namespace

// ---- .npy ------------------------------------------------------------------------------------------
TEST_CASE("fuzz: 800 corrupted and hostile .npy files each load or fail cleanly") {
    TempDir dir("fuzz-npy");
    const std::string good_path = dir / "good.npy";
    io::write_npy(good_path, arange(0, 3 * 28 * 28, 1, {DType::Float32}).reshape({3, 28, 28}));
    const std::string good = read_bytes(good_path);
    const size_t header_len = size_t(uint8_t(good[8])) | size_t(uint8_t(good[9])) << 8;
    const std::string data = good.substr(10 + header_len);

    std::mt19937_64 rng(20261207);
    auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    // Hostile headers: long, deep, negative, huge, malformed.
    auto hostile_header = [&]() -> std::string {
        switch (uniform(10)) {
            case 0: {  // thousands of dimensions
                std::string s = "(";
                for (uint64_t k = 0, n = uniform(12000); k < n; ++k) s += std::to_string(uniform(30)) + ", ";
                return npy_header("<f4", s + ")");
            }
            case 1:  // a dimension with up to 200,000 digits
                return npy_header("<f4", "(" + std::string(1 + uniform(200000), char('1' + uniform(9))) + ", 28, 28)");
            case 2: {  // long runs of spaces between the tokens
                std::string pad(uniform(30000), ' ');
                return "{" + pad + "'descr'" + pad + ":" + pad + "'<f4'," + pad + "'fortran_order': False, 'shape': (" +
                       pad + "3," + pad + "28, 28" + pad + ")" + pad + "}";
            }
            case 3:
                return npy_header("<f4", fmt::format("(-{}, -{}, -{})", uniform(20), uniform(30), uniform(30)));
            case 4:  // dims around and past int64
                return npy_header("<f4", fmt::format("({}{}, 28)", rng(), uniform(10) == 0 ? "" : std::to_string(rng())));
            case 5: {  // unbalanced or nested brackets
                const std::string junk[] = {"((3, 28, 28))", "(3, 28, 28", "3, 28, 28)", "[3, 28, 28]", "(3,, 28)",
                                            "(,)", "(3 28 28)", "(3, 28, 28,,)", "(0x3, 28)", "(3.0, 28, 28)"};
                return npy_header("<f4", junk[uniform(10)]);
            }
            case 6: {  // dtypes
                const std::string d[] = {">f4", "|b1", "<f2", "<c8", "O", "", "<f4<f4", "'", "<U10", "V8"};
                return npy_header(d[uniform(10)], "(3, 28, 28)");
            }
            case 7:  // keys missing, repeated or unknown
                return std::vector<std::string>{
                    "{'descr': '<f4', 'shape': (3, 28, 28)}",
                    "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (3, 28, 28)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), 'extra': 1}",
                    "{'descr': '<f4', 'fortran_order': 1, 'shape': (3, 28, 28)}",
                    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3, 28, 28)}",
                    "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 28, 28)}",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28)} trailing",
                    "{'descr': '<f4' 'fortran_order': False 'shape': (3, 28, 28)}"}[uniform(8)];
            case 8: {  // deep nesting of braces and parentheses
                const size_t depth = 1 + uniform(100000);
                return "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(depth, '(') +
                       std::string(depth, ')') + "}";
            }
            default: {  // a quote that never closes, NUL bytes
                std::string h = npy_header("<f4", "(3, 28, 28)");
                h[uniform(h.size())] = uniform(2) ? '\'' : '\0';
                return h;
            }
        }
    };

    const std::string path = dir / "fuzz.npy";
    int loaded = 0, rejected = 0;
    const auto start = Clock::now();
    for (int i = 0; i < 800; ++i) {
        std::string bytes = good;
        switch (i % 8) {
            case 0: bytes.resize(size_t(uniform(bytes.size()))); break;  // truncation
            case 1:  // flipped bits anywhere
                for (uint64_t k = 0, n = 1 + uniform(8); k < n; ++k) bytes[size_t(uniform(bytes.size()))] ^= char(1u << uniform(8));
                break;
            case 2:  // random bytes in the header
                for (uint64_t k = 0, n = 1 + uniform(4); k < n; ++k) bytes[size_t(10 + uniform(header_len))] = char(uniform(256));
                break;
            case 3:  // a random header length
                bytes[8] = char(uniform(256)), bytes[9] = char(uniform(256));
                break;
            case 4: {  // version 2 or 3, with a random 4-byte header length
                std::string v2 = std::string("\x93NUMPY", 6) + char(2 + uniform(2)) + '\0' + le32(uint32_t(rng()));
                bytes = v2 + good.substr(10);
                break;
            }
            case 5: {  // a digit of the header changed
                std::vector<size_t> digits;
                for (size_t k = 10; k < 10 + header_len; ++k)
                    if (bytes[k] >= '0' && bytes[k] <= '9') digits.push_back(k);
                bytes[digits[size_t(uniform(digits.size()))]] = char('0' + uniform(10));
                break;
            }
            default: {  // a hostile header with the right data, a little more, or a little less
                std::string d = data;
                d.resize(d.size() + uniform(9) - 4);
                bytes = npy_file(hostile_header(), d);
                break;
            }
        }
        write_bytes(path, bytes);
        const bool ok = loads_or_fails_cleanly(
            [&] {
                Tensor t = io::read_npy(path);
                // What loads is backed by the file, byte for byte.
                CHECK(uint64_t(t.numel()) * t.element_size() <= bytes.size());
            },
            path, i);
        ok ? ++loaded : ++rejected;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    MESSAGE("npy fuzz: " << loaded << " loaded, " << rejected << " rejected, in " << seconds << " s");
    CHECK(rejected > 400);
    CHECK(loaded > 10);  // flips in the data, harmless header changes
}

TEST_CASE("fuzz: each .npy case of the fuzz report is an error naming the file") {
    TempDir dir("npy-cases");
    const std::string data(3 * 28 * 28 * 4, '\0');
    auto error_for = [&](const std::string& header, const std::string& body) {
        const std::string path = dir / "case.npy";
        write_bytes(path, npy_file(header, body));
        std::string e = error_of([&] { io::read_npy(path); });
        CHECK(contains(e, path));
        return e;
    };
    CHECK(contains(error_for(npy_header("<f4", "(-16, -28, -28)"), data), "negative dimension"));
    CHECK(contains(error_for(npy_header("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), data), "more than 8 dimensions"));
    CHECK(contains(error_for(npy_header("<f4", "(99999999999999999999, 28, 28)"), data), "too large"));
    std::string digits = error_for(npy_header("<f4", "(" + std::string(60000, '7') + ",)"), data);
    CHECK(contains(digits, "too large"));
    CHECK(digits.size() < 300);  // the 60,000 digits are not echoed
    CHECK(contains(error_for(npy_header("<f4", "(" + std::string(200000, '7') + ",)"), data),
                   "longer than the 65536 accepted"));
    std::string dims = "(";
    for (int k = 0; k < 10000; ++k) dims += "1, ";
    CHECK(contains(error_for(npy_header("<f4", dims + ")"), data), "more than 8 dimensions"));
    // Long runs of spaces are only spaces: the file reads.
    const std::string pad(20000, ' ');
    write_bytes(dir / "spaces.npy",
                npy_file("{'descr':" + pad + "'<f4', 'fortran_order': False, 'shape': (3," + pad + "28, 28), }" + pad, data));
    CHECK(io::read_npy(dir / "spaces.npy").shape() == Shape{3, 28, 28});
    CHECK(contains(error_for(std::string(70000, ' '), data), "longer than the 65536 accepted"));
    // The format's own writer (numpy) pads with spaces and ends with a newline; a 0-d array has shape ().
    write_bytes(dir / "scalar.npy", npy_file(npy_header("<f8", "()"), std::string(8, '\0')));
    CHECK(io::read_npy(dir / "scalar.npy").dim() == 0);
    write_bytes(dir / "one.npy", npy_file("{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (5,)}  \n",
                                          std::string(5, '\x07')));
    CHECK(io::read_npy(dir / "one.npy").to_vector<uint8_t>() == std::vector<uint8_t>(5, 7));
}

// ---- IDX -------------------------------------------------------------------------------------------
TEST_CASE("fuzz: 800 corrupted IDX files, plain and gzip, each load or fail cleanly") {
    TempDir dir("fuzz-idx");
    const std::string raw = idx_bytes({6, 28, 28}, pattern(6 * 28 * 28));
    const std::string gz_ours = [&] {
        data::write_idx_uint8(dir / "good.gz", from_vector(std::vector<uint8_t>(raw.begin() + 16, raw.end()),
                                                           Shape{6, 28, 28}));
        return read_bytes(dir / "good.gz");
    }();
    const std::string gz_stored = gzip_stored(raw);

    std::mt19937_64 rng(7);
    auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    int loaded = 0, rejected = 0;
    const auto start = Clock::now();
    for (int i = 0; i < 800; ++i) {
        const int kind = i % 3;  // plain, gzip (zlib's deflate), gzip (stored blocks)
        std::string bytes = kind == 0 ? raw : kind == 1 ? gz_ours : gz_stored;
        bool must_fail = false, same_data_if_loaded = kind != 0;
        switch ((i / 3) % 6) {
            case 0:  // truncation: anywhere, or only the last 1 to 9 bytes (the gzip trailer)
                bytes.resize(uniform(2) ? size_t(uniform(bytes.size())) : bytes.size() - 1 - size_t(uniform(9)));
                must_fail = true;
                break;
            case 1:  // flipped bits: the gzip CRC-32 lets no changed data through
                for (uint64_t k = 0, n = 1 + uniform(4); k < n; ++k) bytes[size_t(uniform(bytes.size()))] ^= char(1u << uniform(8));
                break;
            case 2: {  // dims that lie: huge, zero, random (re-compressed with stored blocks)
                std::string header_lie = raw;
                for (int d = 0; d < 3; ++d)
                    if (uniform(2)) {
                        const uint32_t v = uniform(3) == 0 ? uint32_t(rng()) : uint32_t(uniform(64));
                        for (int b = 0; b < 4; ++b) header_lie[size_t(4 + 4 * d + b)] = char((v >> (24 - 8 * b)) & 0xff);
                    }
                bytes = kind == 0 ? header_lie : gzip_stored(header_lie);
                same_data_if_loaded = false;
                break;
            }
            case 3:  // bytes after the end: garbage, zeros, or another gzip member
                bytes += uniform(3) == 0 ? std::string(1 + uniform(16), '\0')
                         : uniform(2)    ? pattern(1 + uniform(40))
                                         : gzip_stored(pattern(1 + uniform(40)));
                must_fail = true;
                break;
            case 4:  // the magic number or the number of dims
                bytes[size_t(kind == 0 ? uniform(4) : 10 + uniform(8))] = char(uniform(256));
                break;
            default: {  // a 4 GiB promise: dims [65536, 256, 256] in front of a little data
                std::string bomb = idx_bytes({65536, 256, 256}, std::string(1 + uniform(100000), '\0'));
                bytes = kind == 0 ? bomb : gzip_stored(bomb);
                must_fail = true;
                break;
            }
        }
        const std::string path = dir / (kind == 0 ? "fuzz-idx3" : "fuzz-idx3.gz");
        write_bytes(path, bytes);
        // As a sample file is read: the header is checked for 28x28 before any data is read.
        const bool ok = loads_or_fails_cleanly(
            [&] {
                Tensor t = data::read_idx_uint8(path, 3, [&](const std::vector<int64_t>& dims) {
                    MG_CHECK(dims[1] == 28 && dims[2] == 28 && dims[0] <= 100, "fuzz: '{}': not what the test reads", path);
                });
                if (same_data_if_loaded)
                    CHECK(std::string(reinterpret_cast<const char*>(t.data<uint8_t>()), size_t(t.numel())) == raw.substr(16));
            },
            path, i);
        if (must_fail) CHECK_MESSAGE(!ok, "case " << i << " loaded");
        ok ? ++loaded : ++rejected;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    MESSAGE("idx fuzz: " << loaded << " loaded, " << rejected << " rejected, in " << seconds << " s");
    CHECK(rejected > 400);
}

TEST_CASE("fuzz: each IDX case of the fuzz report is an error naming the file") {
    TempDir dir("idx-cases");
    // Compressed to more than zlib's gz* read buffer (128 KiB): a trailer cut short then passed unseen.
    std::mt19937 rng(3);
    std::vector<uint8_t> images(1000 * 784);
    for (size_t i = 0; i < images.size(); i += 3) images[i] = uint8_t(rng());
    data::write_idx_uint8(dir / "good-idx3.gz", from_vector(images, Shape{1000, 28, 28}));
    const std::string gz = read_bytes(dir / "good-idx3.gz");
    REQUIRE(gz.size() > (128 << 10));
    CHECK(data::read_idx_uint8(dir / "good-idx3.gz", 3).to_vector<uint8_t>() == images);
    // A .gz missing the last 1 to 9 bytes of its trailer.
    for (size_t cut = 1; cut <= 9; ++cut) {
        const std::string path = dir / fmt::format("cut{}-idx3.gz", cut);
        write_bytes(path, gz.substr(0, gz.size() - cut));
        std::string e = error_of([&] { data::read_idx_uint8(path, 3); });
        CHECK_MESSAGE(contains(e, path), "cut " << cut << ": " << e);
    }
    // Two dims below 2^32 whose product overflows int64 (found by UBSan in this fuzz).
    write_bytes(dir / "overflow-idx3", idx_bytes({4190953284u, 2250193393u, 1}, "x"));
    CHECK(contains(error_of([&] { data::read_idx_uint8(dir / "overflow-idx3", 3); }), "promise more than"));
    // Two members (`cat a.gz b.gz`) read as one stream; garbage after the stream does not.
    const std::string raw = idx_bytes({50, 28, 28}, pattern(50 * 784));
    const std::string half1 = raw.substr(0, 1000), half2 = raw.substr(1000);
    write_bytes(dir / "two-members-idx3.gz", gzip_stored(half1) + gzip_stored(half2));
    CHECK(data::read_idx_uint8(dir / "two-members-idx3.gz", 3).to_vector<uint8_t>() ==
          std::vector<uint8_t>(raw.begin() + 16, raw.end()));
    write_bytes(dir / "garbage-idx3.gz", gz + "garbage");
    CHECK(contains(error_of([&] { data::read_idx_uint8(dir / "garbage-idx3.gz", 3); }), "not another gzip member"));

    // A 4 GiB promise of 256x256 images in a small gzip file: refused from the header,
    // before anything is decompressed or allocated, as a sample file and as Fashion-MNIST.
    write_bytes(dir / "train-images-idx3-ubyte.gz", gzip_stored(idx_bytes({65536, 256, 256}, std::string(1 << 20, '\0'))));
    write_bytes(dir / "train-labels-idx1-ubyte.gz", gzip_stored(idx_bytes({60000}, std::string(60000, '\0'))));
    const auto start = Clock::now();
    std::string e = error_of([&] { eval::load_sample_file(dir / "train-images-idx3-ubyte.gz"); });
    CHECK(contains(e, "expected images [N, H, W] with sides up to 1024 and at most 1073741824 pixels in all, got [65536, 256, 256]"));
    e = error_of([&] { data::load_fashion_mnist(data::Split::Train, dir.str()); });
    CHECK(contains(e, "holds 256x256 images, expected 28x28"));
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 0.5);
}

// ---- what is not a regular file ---------------------------------------------------------------------
TEST_CASE("fuzz: FIFOs, directories and symlink loops are refused by every reader, without waiting") {
    TempDir dir("not-files");
    const std::string fifo = dir / "fifo", loop = dir / "loop", folder = dir / "folder";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::filesystem::create_symlink(loop, loop);
    std::filesystem::create_directory(folder);
    HangGuard guard(20);
    for (const std::string& path : {fifo, loop, folder}) {
        CHECK(contains(error_of([&] { io::read_npy(path); }), path));
        CHECK(contains(error_of([&] { data::read_idx_uint8(path, 3); }), path));
        CHECK(contains(error_of([&] { io::load_checkpoint(path); }), path));
        CHECK(contains(error_of([&] { io::load_safetensors(path); }), path));
    }
    CHECK(contains(error_of([&] { io::read_npy(fifo); }), "is a FIFO"));
    CHECK(contains(error_of([&] { io::load_safetensors(folder); }), "is a directory"));
    CHECK(contains(error_of([&] { data::read_idx_uint8(loop, 1); }), "symbolic links"));
}

// ---- model options: --config and a checkpoint's config ------------------------------------------------
#ifdef MINIGEN_TESTS_HAVE_REPORT
namespace {

// The options as the CLI reads them: from a --config file, or from a checkpoint's config
// metadata; then the model is built from them. Throws what the CLI would print.
void build_from_config_file(const std::string& path) {
    tools::CommonModelArgs args;
    args.config_file = path;
    models::find_model("gan2d").create(tools::make_model_config(args));
}
void build_from_checkpoint_config(const std::string& path, const std::string& config_text) {
    write_bytes(path, metadata_only_safetensors({{"model_name", "gan2d"}, {"config", config_text}}));
    tools::CommonModelArgs args;
    std::string name;
    models::find_model("gan2d").create(tools::config_from_checkpoint(path, args, &name));
}

}  // namespace

TEST_CASE("fuzz: 600 corrupted model option files (--config and a checkpoint's config) load or fail cleanly") {
    TempDir dir("fuzz-options");
    const std::string good = R"({"z_dim": 8, "width": 16, "loss": "hinge", "lr": 0.001, "pack": 2, "n_critic": 1, "data": "ring"})";
    const std::vector<std::string> hostile_values = {
        "4611686018427387904", "-4611686018427387904", "18446744073709551615", "1e400", "-1e400", "1e18", "-1",
        "0", "64.5", "64.0", "-0.0", "2.5e1", "\"16\"", "true", "null", "[]", "{}", "[16]", "\"" + std::string(5000, 'x') + "\""};

    std::mt19937_64 rng(99);
    auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    auto replace_value = [&](std::string text) {  // one value, chosen at random, replaced
        std::vector<size_t> colons;
        for (size_t k = 0; k < text.size(); ++k)
            if (text[k] == ':') colons.push_back(k);
        const size_t at = colons[size_t(uniform(colons.size()))] + 1;
        const size_t end = text.find_first_of(",}", at + 1);
        std::string value = uniform(4) == 0 ? std::string(1 + uniform(100000), '[') : hostile_values[size_t(uniform(hostile_values.size()))];
        return text.substr(0, at) + " " + value + text.substr(end);
    };
    int loaded = 0, rejected = 0;
    const auto start = Clock::now();
    for (int i = 0; i < 600; ++i) {
        std::string text = good;
        switch (i % 6) {
            case 0: text.resize(size_t(uniform(text.size()))); break;
            case 1:
                for (uint64_t k = 0, n = 1 + uniform(4); k < n; ++k) text[size_t(uniform(text.size()))] ^= char(1u << uniform(8));
                break;
            case 2:
            case 3: text = replace_value(text); break;
            case 4: {  // deep nesting: arrays, objects, mixed
                const size_t depth = 1 + uniform(200000);
                std::string open, close;
                for (size_t k = 0; k < depth; ++k) {
                    const bool object = uniform(2);
                    open += object ? "{\"a\":" : "[";
                    close += object ? '}' : ']';
                }
                std::reverse(close.begin(), close.end());
                text = uniform(2) ? open + "1" + close : "{\"z_dim\": " + open + "1" + close + "}";
                break;
            }
            default:  // an unknown key, short or long
                text = "{\"" + std::string(1 + uniform(uniform(2) ? 20 : 200000), 'k') + "\": 1}";
                break;
        }
        const bool in_checkpoint = i % 2;
        const std::string path = dir / (in_checkpoint ? "fuzz.safetensors" : "fuzz.json");
        const bool ok = loads_or_fails_cleanly(
            [&] {
                if (in_checkpoint) {
                    build_from_checkpoint_config(path, text);
                } else {
                    write_bytes(path, text);
                    build_from_config_file(path);
                }
            },
            path, i);
        ok ? ++loaded : ++rejected;
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    MESSAGE("options fuzz: " << loaded << " loaded, " << rejected << " rejected, in " << seconds << " s");
    CHECK(rejected > 300);
    CHECK(loaded > 0);
}

TEST_CASE("fuzz: each option case of the fuzz report is an error naming the file and the field") {
    TempDir dir("option-cases");
    const std::string config = dir / "options.json", checkpoint = dir / "c.safetensors";
    auto config_error = [&](const std::string& text) {
        write_bytes(config, text);
        std::string e = error_of([&] { build_from_config_file(config); });
        CHECK_MESSAGE(contains(e, "--config " + config), e);
        return e;
    };
    auto checkpoint_error = [&](const std::string& text) {
        std::string e = error_of([&] { build_from_checkpoint_config(checkpoint, text); });
        CHECK_MESSAGE(contains(e, "--checkpoint " + checkpoint + ": metadata 'config'"), e);
        return e;
    };
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    CHECK(contains(config_error(deep), "nested 100000 levels"));
    CHECK(contains(checkpoint_error(deep), "nested 100000 levels"));
    CHECK(contains(config_error(R"({"width": 4611686018427387904})"), "'width' = 4611686018427387904 is out of range"));
    CHECK(contains(config_error(R"({"z_dim": 4611686018427387904})"), "'z_dim'"));
    CHECK(contains(checkpoint_error(R"({"width": 4611686018427387904})"), "'width'"));
    CHECK(contains(config_error(R"({"z_dim": 64.5})"), "'z_dim' must be an integer, got 64.5"));
    CHECK(contains(config_error(R"({"z_dim": -1e300})"), "out of range"));
    CHECK(contains(config_error(R"({"loss": 5})"), "'loss' has the wrong type: expected a string, got 5"));
    CHECK(contains(config_error(R"({"z_dim": "8"})"), "'z_dim' has the wrong type: expected an integer"));
    CHECK(contains(config_error(R"({"spectral_norm": 1})"), "'spectral_norm' has the wrong type: expected true or false"));
    CHECK(contains(config_error(R"({"data": ["ring"]})"), "'data' has the wrong type: expected a string"));
    CHECK(contains(checkpoint_error(R"({"loss": {}})"), "'loss' has the wrong type: expected a string"));
    CHECK(contains(checkpoint_error(R"({"seed": "x"})"), "'seed' must be a non-negative integer"));
    CHECK(contains(checkpoint_error("{ not json"), "not valid JSON"));
    CHECK(contains(checkpoint_error("[1, 2]"), "expected a JSON object"));
    CHECK(contains(config_error("[1, 2]"), "expected a JSON object"));
    // A long unknown key is cut short in the message; a 10 MB file is refused by its size.
    std::string e = config_error("{\"" + std::string(500000, 'k') + "\": 1}");
    CHECK(contains(e, "unknown option"));
    CHECK(e.size() < 1000);
    e = config_error("{\"" + std::string(10 << 20, 'k') + "\": 1}");
    CHECK(contains(e, "more than the 1048576"));
    CHECK(e.size() < 1000);
    // An integer option written as a float with an integer value reads as that integer.
    write_bytes(config, R"({"z_dim": 8.0, "width": 16})");
    CHECK(error_of([&] { build_from_config_file(config); }).empty());
}
#endif

TEST_CASE("fuzz: 400 corrupted eval results (eval --compare) and tuned GEMM files are read or refused cleanly") {
    TempDir dir("fuzz-eval-tuned");
    const std::string card =
        R"({"feature_extractor": {"name": "fashion-mnist", "sha256": "ab"}, "generated": {"count": 10, "seed": 0},)"
        R"( "metrics": {"kid_subsets": 4, "pr_k": 3}, "minigen": {"version": "0.1.0", "commit": "unknown"}})";
    const std::string eval_good = R"({"fid": 12.5, "kid": 3.0, "samples": 10, "protocol": )" + card + "}";
    const nlohmann::json good_card = nlohmann::json::parse(card);
    const kernels::cpu::GemmKernelShape shape = kernels::cpu::gemm_kernel_shape("avx512", 64, 32, 4);
    const std::string tuned_good = kernels::cpu::gemm_tuned_file_text("Fuzz CPU", shape, {336, 256, 4096});
    write_bytes(dir / "good.json", tuned_good);
    std::string why;
    REQUIRE(kernels::cpu::read_gemm_tuned_file(dir / "good.json", "Fuzz CPU", shape, &why));
    std::mt19937_64 rng(7);
    auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
    auto corrupt = [&](std::string text, int kind) {
        switch (kind) {
            case 0: text.resize(size_t(uniform(text.size()))); break;
            case 1:
                for (uint64_t k = 0, n = 1 + uniform(4); k < n; ++k) text[size_t(uniform(text.size()))] ^= char(1u << uniform(8));
                break;
            case 2: text = std::string(1 + uniform(200000), '[') + text; break;  // deep nesting
            default: text.insert(size_t(uniform(text.size())), std::string(1 + uniform(3000), '"')); break;
        }
        return text;
    };
    int refused = 0;
    for (int i = 0; i < 400; ++i) {
        const bool eval_file = i % 2 == 0;
        const std::string path = dir / (eval_file ? "result.json" : "tuned.json");
        write_bytes(path, corrupt(eval_file ? eval_good : tuned_good, (i / 2) % 4));
        if (eval_file) {
            const bool ok = loads_or_fails_cleanly(
                [&] {
                    const nlohmann::json r = eval::read_eval_result(path);
                    (void)eval::protocol_differences(good_card, r.at("protocol"));
                },
                path, i);
            refused += ok ? 0 : 1;
        } else {
            // Never throws; a file it refuses (or that holds no entry for this kernel) leaves
            // the derived sizes in place, and what it accepts is within the bounds.
            std::string problem;
            const auto b = kernels::cpu::read_gemm_tuned_file(path, "Fuzz CPU", shape, &problem);
            if (b)
                CHECK_MESSAGE((b->mc >= 1 && b->mc <= kernels::cpu::kMaxGemmMC && b->kc >= 1 &&
                               b->kc <= kernels::cpu::kMaxGemmKC && b->nc >= 1 && b->nc <= kernels::cpu::kMaxGemmNC),
                              "case " << i << ": accepted " << b->mc << "," << b->kc << "," << b->nc);
        }
    }
    CHECK(refused > 100);
}
