#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/io/input.h"
#include "core/io/temp_files.h"

namespace mg::io {

// The data section is the tensors' memory, byte for byte.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;  // keeps the header's order, for messages and for writing

constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;  // the limit the reference implementation sets
constexpr int kMaxJsonDepth = 3;  // header object > tensor object > shape array

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { close(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    // Closes now and reports the result (close can report a failed delayed write).
    int close() {
        int rc = 0;
        if (fd_ >= 0) rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

// ---- dtypes -----------------------------------------------------------------------------
bool parse_dtype(const std::string& name, DType& out) {
    if (name == "F32") out = DType::Float32;
    else if (name == "F64") out = DType::Float64;
    else if (name == "I64") out = DType::Int64;
    else if (name == "U8") out = DType::UInt8;
    else return false;
    return true;
}

// ---- reading ------------------------------------------------------------------------------
// Reads exactly n bytes at `offset`; throws on a short read (a file truncated under us).
// Where the bytes come from: a file descriptor (pread) or a buffer in memory.
struct ByteSource {
    int fd = -1;
    const unsigned char* memory = nullptr;
    uint64_t size = 0;
};

void read_exact(int fd, void* dst, uint64_t n, uint64_t offset, const std::string& path, const char* what) {
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
        size_t chunk = size_t(std::min<uint64_t>(n, uint64_t(1) << 30));
        ssize_t got = ::pread(fd, p, chunk, off_t(offset));
        if (got < 0 && errno == EINTR) continue;
        MG_CHECK(got > 0, "safetensors: '{}': reading {} at byte offset {} failed: {}", path, what, offset,
                 got < 0 ? errno_text() : "unexpected end of file");
        p += got;
        n -= uint64_t(got);
        offset += uint64_t(got);
    }
}

void read_exact(const ByteSource& src, void* dst, uint64_t n, uint64_t offset, const std::string& path,
                const char* what) {
    if (src.fd >= 0) return read_exact(src.fd, dst, n, offset, path, what);
    MG_CHECK(offset <= src.size && n <= src.size - offset,
             "safetensors: '{}': reading {} at byte offset {}: unexpected end of data", path, what, offset);
    std::memcpy(dst, src.memory + offset, size_t(n));
}

struct TensorInfo {
    std::string name;
    DType dtype = DType::Float32;
    Shape shape;
    uint64_t begin = 0, end = 0;  // within the data section
};

// Parses the header text; throws naming the first problem. Rejects duplicate keys and
// nesting deeper than a valid header has (nlohmann would keep the last duplicate).
Json parse_header(const std::string& text, const std::string& path) {
    std::vector<std::set<std::string>> open_objects;
    auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
        using E = Json::parse_event_t;
        if (event == E::object_start || event == E::array_start) {
            MG_CHECK(depth < kMaxJsonDepth, "safetensors: '{}': header JSON nests deeper than a header can", path);
            if (event == E::object_start) open_objects.emplace_back();
        } else if (event == E::object_end) {
            if (!open_objects.empty()) open_objects.pop_back();
        } else if (event == E::key && !open_objects.empty()) {
            const std::string& key = parsed.get_ref<const std::string&>();
            MG_CHECK(open_objects.back().insert(key).second, "safetensors: '{}': header JSON has the key '{}' twice",
                     path, key);
        }
        return true;
    };
    try {
        return Json::parse(text, callback);
    } catch (const Json::parse_error& e) {
        MG_FAIL("safetensors: '{}': header is not valid JSON (error at byte offset {}): {}", path,
                8 + (e.byte > 0 ? e.byte - 1 : 0), e.what());
    }
}

// Reads a JSON number that must be a non-negative integer.
bool as_unsigned(const Json& j, uint64_t& out) {
    if (j.is_number_unsigned()) {
        out = j.get<uint64_t>();
        return true;
    }
    if (j.is_number_integer() && j.get<int64_t>() >= 0) {
        out = uint64_t(j.get<int64_t>());
        return true;
    }
    return false;
}

TensorInfo parse_tensor_info(const std::string& name, const Json& info, uint64_t data_start, uint64_t data_size,
                             const std::string& path) {
    const std::string where = fmt::format("safetensors: '{}': tensor '{}'", path, name);
    MG_CHECK(info.is_object(), "{}: expected an object with dtype, shape and data_offsets, got {}", where,
             info.type_name());
    for (const auto& [key, value] : info.items())
        MG_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", "{}: unknown field '{}'", where, key);
    MG_CHECK(info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"),
             "{}: needs dtype, shape and data_offsets", where);

    TensorInfo t;
    t.name = name;
    const Json& dtype = info["dtype"];
    MG_CHECK(dtype.is_string(), "{}: dtype must be a string, got {}", where, dtype.type_name());
    MG_CHECK(parse_dtype(dtype.get<std::string>(), t.dtype), "{}: unsupported dtype '{}' (minigen reads F32, F64, I64, U8)",
             where, dtype.get<std::string>());

    const Json& shape = info["shape"];
    MG_CHECK(shape.is_array(), "{}: shape must be an array, got {}", where, shape.type_name());
    MG_CHECK(shape.size() <= size_t(Shape::kMaxDims), "{}: shape has {} dimensions, at most {} are supported", where,
             shape.size(), Shape::kMaxDims);
    uint64_t bytes = uint64_t(dtype_size(t.dtype));
    bool overflow = false;
    for (size_t d = 0; d < shape.size(); ++d) {
        uint64_t dim = 0;
        MG_CHECK(as_unsigned(shape[d], dim), "{}: shape[{}] must be a non-negative integer, got {}", where, d,
                 shape[d].dump());
        MG_CHECK(dim <= uint64_t(INT64_MAX), "{}: shape[{}] = {} is too large", where, d, dim);
        overflow = overflow || __builtin_mul_overflow(bytes, dim, &bytes);
        t.shape.push_back(int64_t(dim));
    }
    // A shape whose size overflows, or exceeds the data section, cannot be backed by this file.
    MG_CHECK(!overflow && bytes <= data_size, "{}: shape {} of {} needs {} bytes, the data section has {}", where,
             t.shape, dtype.get<std::string>(), overflow ? std::string("more than 2^64") : std::to_string(bytes),
             data_size);

    const Json& offsets = info["data_offsets"];
    MG_CHECK(offsets.is_array() && offsets.size() == 2, "{}: data_offsets must be [begin, end], got {}", where,
             offsets.dump());
    MG_CHECK(as_unsigned(offsets[0], t.begin) && as_unsigned(offsets[1], t.end),
             "{}: data_offsets must be non-negative integers, got {}", where, offsets.dump());
    MG_CHECK(t.begin <= t.end && t.end <= data_size,
             "{}: data_offsets [{}, {}] lie outside the data section of {} bytes (file bytes {} to {})", where, t.begin,
             t.end, data_size, data_start, data_start + data_size);
    MG_CHECK(t.end - t.begin == bytes, "{}: data_offsets [{}, {}] span {} bytes, but dtype {} and shape {} need {}",
             where, t.begin, t.end, t.end - t.begin, dtype.get<std::string>(), t.shape, bytes);
    return t;
}

}  // namespace

std::string safetensors_dtype(DType dtype) {
    switch (dtype) {
        case DType::Float32: return "F32";
        case DType::Float64: return "F64";
        case DType::Int64: return "I64";
        case DType::UInt8: return "U8";
    }
    MG_FAIL("safetensors: unknown dtype {}", int(dtype));
}

namespace {

SafetensorsContents parse_safetensors(const ByteSource& src, const std::string& path) {
    const uint64_t file_size = src.size;

    // 1. The header length, checked against the file before it is used.
    MG_CHECK(file_size >= 8, "safetensors: '{}': file is {} bytes, too short to hold the 8-byte header length", path,
             file_size);
    unsigned char len_bytes[8];
    read_exact(src, len_bytes, 8, 0, path, "the header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    MG_CHECK(header_len <= file_size - 8,
             "safetensors: '{}': header length {} (bytes 0-7) is larger than the {} bytes that follow it", path,
             header_len, file_size - 8);
    MG_CHECK(header_len <= kMaxHeaderBytes, "safetensors: '{}': header length {} (bytes 0-7) exceeds the {} byte limit",
             path, header_len, kMaxHeaderBytes);
    MG_CHECK(header_len >= 2, "safetensors: '{}': header length {} (bytes 0-7) is too small for a JSON object", path,
             header_len);
    const uint64_t data_start = 8 + header_len;
    const uint64_t data_size = file_size - data_start;

    // 2. The header: a JSON object of tensors and metadata.
    std::string text(size_t(header_len), '\0');
    read_exact(src, text.data(), header_len, 8, path, "the header");
    MG_CHECK(text[0] == '{', "safetensors: '{}': header is not a JSON object (byte offset 8 holds 0x{:02x}, not '{{')",
             path, static_cast<unsigned char>(text[0]));
    // The JSON parser stops at a NUL byte and would ignore what follows; the format pads with spaces.
    if (size_t nul = text.find('\0'); nul != std::string::npos)
        MG_FAIL("safetensors: '{}': header holds a NUL byte at byte offset {} (a header is padded with spaces only)",
                path, 8 + nul);
    Json header = parse_header(text, path);
    MG_CHECK(header.is_object(), "safetensors: '{}': header is a JSON {}, not an object", path, header.type_name());

    SafetensorsContents out;
    std::vector<TensorInfo> infos;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            MG_CHECK(value.is_object(), "safetensors: '{}': __metadata__ must be an object of strings, got {}", path,
                     value.type_name());
            for (const auto& [key, v] : value.items()) {
                MG_CHECK(v.is_string(), "safetensors: '{}': __metadata__ '{}' must be a string, got {}", path, key,
                         v.type_name());
                out.metadata[key] = v.get<std::string>();
            }
            continue;
        }
        infos.push_back(parse_tensor_info(name, value, data_start, data_size, path));
    }

    // 3. The tensors must tile the data section: sorted by offset, each starts where the last ended.
    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : infos) by_offset.push_back(&t);
    std::stable_sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t covered = 0;
    const TensorInfo* previous = nullptr;
    for (const TensorInfo* t : by_offset) {
        MG_CHECK(t->begin >= covered,
                 "safetensors: '{}': tensor '{}' (data bytes [{}, {}), file byte offset {}) overlaps tensor '{}' "
                 "(data bytes [{}, {}))",
                 path, t->name, t->begin, t->end, data_start + t->begin, previous ? previous->name : "",
                 previous ? previous->begin : 0, previous ? previous->end : 0);
        MG_CHECK(t->begin == covered,
                 "safetensors: '{}': data bytes [{}, {}) (file byte offset {}) belong to no tensor (a gap before "
                 "tensor '{}')",
                 path, covered, t->begin, data_start + covered, t->name);
        covered = t->end;
        previous = t;
    }
    MG_CHECK(covered == data_size,
             "safetensors: '{}': the tensors cover {} bytes of the {}-byte data section; bytes from file offset {} on "
             "belong to no tensor",
             path, covered, data_size, data_start + covered);

    // 4. Everything is consistent: read the data (total size <= the file's).
    for (const TensorInfo& t : infos) {
        Tensor x = empty(t.shape, {t.dtype, Device::CPU});
        if (t.end > t.begin)
            read_exact(src, x.raw_data(), t.end - t.begin, data_start + t.begin, path,
                       ("tensor '" + t.name + "'").c_str());
        MG_CHECK(out.tensors.emplace(t.name, x).second, "safetensors: '{}': tensor '{}' appears twice", path, t.name);
    }
    return out;
}

}  // namespace

SafetensorsContents load_safetensors(const std::string& path) {
    // Opening a FIFO would wait for a writer: refuse anything but a regular file first, and
    // open without blocking in case the path changes in between (fstat checks again).
    require_regular_file(path, "safetensors:");
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    MG_CHECK(fd.get() >= 0, "safetensors: cannot open '{}': {}", path, errno_text());
    struct stat st {};
    MG_CHECK(::fstat(fd.get(), &st) == 0, "safetensors: cannot stat '{}': {}", path, errno_text());
    MG_CHECK(S_ISREG(st.st_mode), "safetensors: '{}' is not a regular file", path);
    return parse_safetensors(ByteSource{fd.get(), nullptr, uint64_t(st.st_size)}, path);
}

SafetensorsContents load_safetensors(const void* bytes, size_t size, const std::string& name) {
    return parse_safetensors(ByteSource{-1, static_cast<const unsigned char*>(bytes), size}, name);
}

// ---- writing ---------------------------------------------------------------------------------
namespace {

void write_all(int fd, const void* src, size_t n, const std::string& tmp) {
    const auto* p = static_cast<const char*>(src);
    while (n > 0) {
        ssize_t put = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
        if (put < 0 && errno == EINTR) continue;
        MG_CHECK(put > 0, "safetensors: writing '{}' failed: {}", tmp, put < 0 ? errno_text() : "no progress");
        p += put;
        n -= size_t(put);
    }
}

std::string directory_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Writes to "<path>.tmp.<pid>", syncs, renames over `path`, syncs the directory.
// `write_body` writes the content to the open descriptor.
template <class F> void write_atomically(const std::string& path, F&& write_body) {
    const std::string tmp = temp_path(path);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    MG_CHECK(fd.get() >= 0, "safetensors: cannot create '{}' (to write '{}'): {}", tmp, path, errno_text());
    try {
        write_body(fd.get(), tmp);
        MG_CHECK(::fsync(fd.get()) == 0, "safetensors: flushing '{}' to disk failed: {}", tmp, errno_text());
        MG_CHECK(fd.close() == 0, "safetensors: closing '{}' failed: {}", tmp, errno_text());
        MG_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, "safetensors: renaming '{}' to '{}' failed: {}", tmp, path,
                 errno_text());
    } catch (...) {
        fd.close();
        ::unlink(tmp.c_str());
        throw;
    }
    // The rename is only durable once the directory entry is on disk. Some file systems
    // cannot sync a directory (EINVAL); the file itself is complete either way.
    Fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() >= 0 && ::fsync(dir.get()) != 0 && errno != EINVAL && errno != EROFS)
        MG_FAIL("safetensors: '{}' was written, but syncing its directory failed: {}", path, errno_text());
}

}  // namespace

void save_safetensors(const std::string& path, const TensorList& tensors, const Metadata& metadata) {
    autograd::NoGradGuard no_grad;
    // Dense CPU copies, checked names, and the header, all before the file is touched.
    std::vector<Tensor> dense;
    std::set<std::string> names;
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& [key, value] : metadata) meta[key] = value;
        header["__metadata__"] = meta;
    }
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        MG_CHECK(name != "__metadata__", "safetensors: writing '{}': '__metadata__' cannot name a tensor", path);
        MG_CHECK(names.insert(name).second, "safetensors: writing '{}': tensor '{}' given twice", path, name);
        MG_CHECK(t.defined(), "safetensors: writing '{}': tensor '{}' is undefined", path, name);
        Tensor d = t.detach().to(Device::CPU).contiguous();
        const uint64_t bytes = uint64_t(d.numel()) * uint64_t(d.element_size());
        header[name] = {{"dtype", safetensors_dtype(d.dtype())},
                        {"shape", d.shape().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        dense.push_back(d);
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const Json::exception& e) {
        MG_FAIL("safetensors: writing '{}': a tensor name or metadata string is not valid UTF-8 ({})", path, e.what());
    }
    text.append((8 - (8 + text.size()) % 8) % 8, ' ');  // the data starts 8-byte aligned

    write_atomically(path, [&](int fd, const std::string& tmp) {
        unsigned char len_bytes[8];
        uint64_t n = text.size();
        for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(n >> (8 * i));
        write_all(fd, len_bytes, 8, tmp);
        write_all(fd, text.data(), text.size(), tmp);
        for (const Tensor& d : dense)
            if (d.numel() > 0) write_all(fd, d.raw_data(), size_t(d.numel() * d.element_size()), tmp);
    });
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
    save_safetensors(path, TensorList(tensors.begin(), tensors.end()), metadata);
}

}  // namespace mg::io
