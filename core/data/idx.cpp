// IDX reading and writing through zlib's gz* interface (which also reads plain files).
#include "core/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mg::data {
namespace {

std::string hex_bytes(const uint8_t* bytes, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
    return s;
}

std::string dims_str(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// Owns a gzFile; gzclose on every exit path.
struct GzReader {
    gzFile file = nullptr;
    std::string path;
    bool compressed = false;
    int64_t offset = 0;  // in the decompressed stream

    explicit GzReader(const std::string& p) : path(p) {
        std::error_code ec;
        MG_CHECK(std::filesystem::exists(p, ec), "idx: cannot open '{}': no such file", p);
        MG_CHECK(!std::filesystem::is_directory(p, ec), "idx: cannot open '{}': it is a directory", p);
        errno = 0;
        file = gzopen(p.c_str(), "rb");
        MG_CHECK(file != nullptr, "idx: cannot open '{}': {}", p, errno ? std::strerror(errno) : "out of memory");
        gzbuffer(file, 1 << 17);
        compressed = gzdirect(file) == 0;
    }
    ~GzReader() {
        if (file) gzclose_r(file);
    }
    GzReader(const GzReader&) = delete;
    GzReader& operator=(const GzReader&) = delete;

    // Reads up to n bytes; returns how many came. A corrupt stream is an error; a short
    // read (plain file or gzip stream ending early) is left to the caller to report.
    int64_t read(void* out, int64_t n) {
        int64_t got = 0;
        while (got < n) {
            unsigned chunk = unsigned(std::min<int64_t>(n - got, int64_t(1) << 30));
            int r = gzread(file, static_cast<char*>(out) + got, chunk);
            if (r < 0) {
                int errnum = 0;
                const char* msg = gzerror(file, &errnum);
                // zlib prefixes its message with the path; we name the file ourselves.
                std::string why = msg ? msg : "unknown zlib error";
                if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);
                MG_FAIL("idx: '{}': corrupt gzip stream ({}), reading {} bytes at offset {} of the decompressed data",
                        path, why, n, offset + got);
            }
            if (r == 0) break;
            got += r;
        }
        offset += got;
        return got;
    }
    // Why the last read came up short: the gzip stream ended early, or the file did.
    std::string short_read_reason() {
        int errnum = 0;
        gzerror(file, &errnum);
        if (compressed && errnum == Z_BUF_ERROR) return "the gzip stream ends early (the .gz file is cut off)";
        return "the file ends early";
    }
};

}  // namespace

Tensor read_idx_uint8(const std::string& path, int ndim) {
    MG_CHECK(ndim >= 1 && ndim <= 4, "idx: '{}': asked for {} dimensions, expected 1 to 4", path, ndim);
    GzReader in(path);
    const char* kind = in.compressed ? " (gzip)" : "";

    // Magic: 00 00 08 ndim.
    uint8_t magic[4] = {};
    int64_t got = in.read(magic, 4);
    MG_CHECK(got == 4, "idx: '{}'{} is truncated: the header needs 4 bytes at offset 0, found {}; {}", path, kind,
             got, in.short_read_reason());
    const uint32_t expected_magic = 0x00000800u | uint32_t(ndim);
    const uint32_t read_magic = uint32_t(magic[0]) << 24 | uint32_t(magic[1]) << 16 | uint32_t(magic[2]) << 8 | magic[3];
    if (read_magic != expected_magic) {
        std::string hint;
        if (magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08)
            hint = fmt::format(" (a {}-dimensional uint8 IDX file, not a {}-dimensional one)", magic[3], ndim);
        else if (magic[0] == 0 && magic[1] == 0)
            hint = fmt::format(" (type code 0x{:02x}; only 0x08 = uint8 is read)", magic[2]);
        else
            hint = " (not an IDX file)";
        MG_FAIL("idx: '{}'{}: bad magic number: read bytes {} (0x{:08x}), expected {} (0x{:08x}){}", path, kind,
                hex_bytes(magic, 4), read_magic, fmt::format("00 00 08 {:02x}", ndim), expected_magic, hint);
    }

    // Dimensions, big-endian uint32 each; their product must fit the limit.
    std::vector<uint8_t> raw_dims(size_t(4 * ndim));
    got = in.read(raw_dims.data(), 4 * ndim);
    MG_CHECK(got == 4 * ndim, "idx: '{}'{} is truncated: the header needs {} bytes of dimensions at offset 4, found {}; {}",
             path, kind, 4 * ndim, got, in.short_read_reason());
    std::vector<int64_t> dims(static_cast<size_t>(ndim));
    int64_t payload = 1;
    for (int i = 0; i < ndim; ++i) {
        const uint8_t* b = &raw_dims[size_t(4 * i)];
        dims[size_t(i)] = int64_t(uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]);
    }
    for (int i = 0; i < ndim; ++i) {
        // Each factor is < 2^32 and the running product stays <= 2^32, so this cannot overflow int64.
        payload *= dims[size_t(i)];
        MG_CHECK(payload <= kIdxMaxBytes, "idx: '{}'{}: dims {} promise more than {} bytes of data; the header is corrupt",
                 path, kind, dims_str(dims), kIdxMaxBytes);
    }
    const int64_t header = 4 + 4 * int64_t(ndim);

    // A plain file's size is known: check it against the header before reading.
    if (!in.compressed) {
        std::error_code ec;
        int64_t file_size = int64_t(std::filesystem::file_size(path, ec));
        if (!ec) {
            MG_CHECK(file_size >= header + payload,
                     "idx: '{}' is truncated: dims {} promise {} bytes of data at offset {} (a file of {} bytes), "
                     "found {} bytes of data (the file has {})",
                     path, dims_str(dims), payload, header, header + payload, file_size - header, file_size);
            MG_CHECK(file_size == header + payload,
                     "idx: '{}': dims {} do not match the file size: {} bytes of data promised at offset {}, "
                     "the file has {} more ({} bytes in all)",
                     path, dims_str(dims), payload, header, file_size - header - payload, file_size);
        }
    }

    // The data, in chunks: a lying gzip header cannot make us allocate more than arrives.
    std::vector<uint8_t> data;
    const int64_t chunk = int64_t(16) << 20;
    int64_t have = 0;
    while (have < payload) {
        int64_t want = std::min(chunk, payload - have);
        data.resize(size_t(have + want));
        int64_t n = in.read(data.data() + have, want);
        have += n;
        MG_CHECK(n == want,
                 "idx: '{}'{} is truncated: dims {} promise {} bytes of data at offset {}, found {} (data ends at "
                 "offset {}); {}",
                 path, kind, dims_str(dims), payload, header, have, header + have, in.short_read_reason());
    }
    // Nothing may follow the promised data; reading past it also makes zlib check the gzip CRC.
    uint8_t extra[256];
    int64_t more = in.read(extra, sizeof extra);
    MG_CHECK(more == 0, "idx: '{}'{}: dims {} do not match the file size: data continues past the {} bytes promised "
             "(offset {})", path, kind, dims_str(dims), payload, header + payload);
    if (in.compressed) {
        int errnum = 0;
        const char* msg = gzerror(in.file, &errnum);
        MG_CHECK(errnum == Z_OK, "idx: '{}' (gzip): corrupt or cut-off gzip stream after the data: {}", path,
                 errnum == Z_BUF_ERROR ? "the gzip trailer is missing" : (msg ? msg : "zlib error"));
    }

    Tensor out = empty(Shape(dims), {DType::UInt8});
    if (payload > 0) std::memcpy(out.data<uint8_t>(), data.data(), size_t(payload));
    return out;
}

void write_idx_uint8(const std::string& path, const Tensor& values) {
    MG_CHECK(values.defined() && values.dtype() == DType::UInt8, "write_idx_uint8: '{}': expected a uint8 tensor", path);
    MG_CHECK(values.dim() >= 1 && values.dim() <= 4, "write_idx_uint8: '{}': expected 1 to 4 dimensions, got {}", path,
             values.dim());
    std::vector<uint8_t> bytes = {0, 0, 0x08, uint8_t(values.dim())};
    for (int64_t d : values.shape()) {
        MG_CHECK(d >= 0 && d <= int64_t(UINT32_MAX), "write_idx_uint8: '{}': dimension {} does not fit uint32", path, d);
        for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(uint8_t(uint64_t(d) >> shift));
    }
    std::vector<uint8_t> data = values.to_vector<uint8_t>();
    bytes.insert(bytes.end(), data.begin(), data.end());

    const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    errno = 0;
    gzFile f = gzopen(path.c_str(), gz ? "wb6" : "wbT");  // T: transparent (plain) writing
    MG_CHECK(f != nullptr, "write_idx_uint8: cannot create '{}': {}", path, errno ? std::strerror(errno) : "zlib error");
    size_t done = 0;
    bool ok = true;
    while (ok && done < bytes.size()) {
        unsigned n = unsigned(std::min<size_t>(bytes.size() - done, size_t(1) << 30));
        int w = gzwrite(f, bytes.data() + done, n);
        ok = w > 0;
        done += size_t(std::max(w, 0));
    }
    int rc = gzclose_w(f);
    MG_CHECK(ok && rc == Z_OK, "write_idx_uint8: writing '{}' failed after {} of {} bytes", path, done, bytes.size());
}

}  // namespace mg::data
