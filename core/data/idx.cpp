// IDX reading (zlib's inflate, for a strict end of the gzip stream) and writing (zlib's gz* interface).
#include "core/data/idx.h"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/io/input.h"

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

// The bytes of an IDX file, inflated when the file starts with the gzip magic. zlib's
// gz* interface ends quietly at a trailer cut short and skips garbage after a stream; this
// reader knows where the gzip stream must end, so those are errors.
class IdxStream {
public:
    explicit IdxStream(const std::string& path) : path_(path) {
        io::require_regular_file(path, "idx:");
        fd_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // never waits, should the path change
        MG_CHECK(fd_.fd >= 0, "idx: cannot open '{}': {}", path, std::strerror(errno));
        struct stat st {};
        MG_CHECK(::fstat(fd_.fd, &st) == 0 && S_ISREG(st.st_mode), "idx: '{}' is not a regular file", path);
        file_size_ = int64_t(st.st_size);
        compressed_ = ensure_input(2) && in_[0] == 0x1f && in_[1] == 0x8b;
        if (compressed_) {
            MG_CHECK(inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK, "idx: '{}': zlib cannot start (out of memory)", path);
            inflating_ = true;
        }
    }
    ~IdxStream() {
        if (inflating_) inflateEnd(&z_);
    }
    IdxStream(const IdxStream&) = delete;
    IdxStream& operator=(const IdxStream&) = delete;

    bool compressed() const { return compressed_; }
    int64_t file_size() const { return file_size_; }

    // Reads up to n bytes; fewer only where the data ends (see short_read_reason()).
    int64_t read(void* out, int64_t n) {
        auto* dst = static_cast<unsigned char*>(out);
        int64_t got = 0;
        while (got < n) {
            const int64_t r = compressed_ ? inflate_some(dst + got, n - got) : take_input(dst + got, n - got);
            if (r == 0) break;
            got += r;
        }
        offset_ += got;
        return got;
    }
    // Why the last read came up short.
    std::string short_read_reason() const {
        if (!compressed_) return "the file ends early";
        return stream_ended_ ? "the gzip stream ends early" : "the gzip stream is cut off (the .gz file is truncated)";
    }
    // After the data: a gzip stream must have ended with its trailer (CRC-32 and length,
    // checked by zlib) at the end of the file.
    void expect_complete_stream() const {
        MG_CHECK(!compressed_ || stream_ended_,
                 "idx: '{}' (gzip): corrupt or cut-off gzip stream after the data: the gzip trailer (8 bytes of CRC-32 "
                 "and length) is missing or incomplete at file offset {} of {}",
                 path_, consumed(), file_size_);
    }

private:
    // Makes at least k bytes of file input available (fewer at the end of the file).
    bool ensure_input(size_t k) {
        if (avail_ >= k) return true;
        std::memmove(in_.data(), in_.data() + next_, avail_);
        next_ = 0;
        while (avail_ < k) {
            const ssize_t r = ::read(fd_.fd, in_.data() + avail_, in_.size() - avail_);
            if (r < 0 && errno == EINTR) continue;
            MG_CHECK(r >= 0, "idx: reading '{}' at file offset {} failed: {}", path_, read_, std::strerror(errno));
            if (r == 0) break;
            avail_ += size_t(r);
            read_ += r;
        }
        return avail_ >= k;
    }
    int64_t consumed() const { return read_ - int64_t(avail_); }  // file bytes used so far

    int64_t take_input(unsigned char* dst, int64_t n) {
        if (!ensure_input(1)) return 0;
        const size_t m = size_t(std::min<int64_t>(n, int64_t(avail_)));
        std::memcpy(dst, in_.data() + next_, m);
        next_ += m;
        avail_ -= m;
        return int64_t(m);
    }

    // Inflates into dst until something comes out; 0 where the data (or the file) ends.
    int64_t inflate_some(unsigned char* dst, int64_t n) {
        for (;;) {  // a pass may only consume a gzip header or trailer
            if (stream_ended_) {
                // Files joined with `cat a.gz b.gz` hold several gzip members; anything else after one is refused.
                if (!ensure_input(1)) return 0;
                MG_CHECK(ensure_input(2) && in_[next_] == 0x1f && in_[next_ + 1] == 0x8b,
                         "idx: '{}' (gzip): {} bytes after the end of the gzip stream (file offset {}) are not "
                         "another gzip member",
                         path_, file_size_ - consumed(), consumed());
                MG_CHECK(inflateReset(&z_) == Z_OK, "idx: '{}': zlib cannot restart", path_);
                stream_ended_ = false;
            }
            if (!ensure_input(1)) return 0;  // the stream is cut off
            z_.next_in = in_.data() + next_;
            z_.avail_in = uInt(avail_);
            z_.next_out = dst;
            z_.avail_out = uInt(std::min<int64_t>(n, int64_t(1) << 30));
            const uInt out_before = z_.avail_out;
            const int rc = inflate(&z_, Z_NO_FLUSH);
            next_ += avail_ - z_.avail_in;
            avail_ = z_.avail_in;
            const int64_t produced = int64_t(out_before - z_.avail_out);
            if (rc == Z_STREAM_END) stream_ended_ = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
                MG_FAIL("idx: '{}': corrupt gzip stream ({}) at file offset {}, offset {} of the decompressed data",
                        path_, z_.msg ? std::string(z_.msg) : "zlib error " + std::to_string(rc), consumed(),
                        offset_ + produced);
            if (produced > 0) return produced;
        }
    }

    struct OwnedFd {  // closed even when the constructor throws
        int fd = -1;
        ~OwnedFd() {
            if (fd >= 0) ::close(fd);
        }
    };

    std::string path_;
    OwnedFd fd_;
    int64_t file_size_ = 0;
    bool compressed_ = false, inflating_ = false, stream_ended_ = false;
    z_stream z_{};
    std::vector<unsigned char> in_ = std::vector<unsigned char>(size_t(1) << 17);
    size_t next_ = 0, avail_ = 0;  // unread input: in_[next_, next_ + avail_)
    int64_t read_ = 0;             // file bytes read into in_ so far
    int64_t offset_ = 0;           // data bytes handed out so far
};

}  // namespace

Tensor read_idx_uint8(const std::string& path, int ndim, const IdxDimsCheck& check_dims) {
    MG_CHECK(ndim >= 1 && ndim <= 4, "idx: '{}': asked for {} dimensions, expected 1 to 4", path, ndim);
    IdxStream in(path);
    const char* kind = in.compressed() ? " (gzip)" : "";

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
        // Two factors below 2^32 can overflow int64 (2^63): checked, not assumed.
        const bool overflow = __builtin_mul_overflow(payload, dims[size_t(i)], &payload);
        MG_CHECK(!overflow && payload <= kIdxMaxBytes,
                 "idx: '{}'{}: dims {} promise more than {} bytes of data; the header is corrupt", path, kind,
                 dims_str(dims), kIdxMaxBytes);
    }
    const int64_t header = 4 + 4 * int64_t(ndim);

    // A plain file's size is known: check it against the header before reading.
    if (!in.compressed()) {
        const int64_t file_size = in.file_size();
        MG_CHECK(file_size >= header + payload,
                 "idx: '{}' is truncated: dims {} promise {} bytes of data at offset {} (a file of {} bytes), "
                 "found {} bytes of data (the file has {})",
                 path, dims_str(dims), payload, header, header + payload, file_size - header, file_size);
        MG_CHECK(file_size == header + payload,
                 "idx: '{}': dims {} do not match the file size: {} bytes of data promised at offset {}, "
                 "the file has {} more ({} bytes in all)",
                 path, dims_str(dims), payload, header, file_size - header - payload, file_size);
    }
    // What the caller expects, before anything is allocated or decompressed.
    if (check_dims) check_dims(dims);

    // The data, straight into the tensor. A gzip header that lies costs address space only:
    // pages are touched as the data arrives.
    Tensor out = empty(Shape(dims), {DType::UInt8});
    const int64_t have = payload > 0 ? in.read(out.data<uint8_t>(), payload) : 0;
    MG_CHECK(have == payload,
             "idx: '{}'{} is truncated: dims {} promise {} bytes of data at offset {}, found {} (data ends at "
             "offset {}); {}",
             path, kind, dims_str(dims), payload, header, have, header + have, in.short_read_reason());
    // Nothing may follow the promised data; reading past it also makes zlib check the gzip CRC.
    uint8_t extra[256];
    const int64_t more = in.read(extra, sizeof extra);
    MG_CHECK(more == 0, "idx: '{}'{}: dims {} do not match the file size: data continues past the {} bytes promised "
             "(offset {})", path, kind, dims_str(dims), payload, header + payload);
    in.expect_complete_stream();
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
