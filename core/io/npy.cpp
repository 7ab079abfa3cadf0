#include "core/io/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "core/io/input.h"
#include "core/io/temp_files.h"

namespace mg::io {

namespace {

// numpy writes headers of a few hundred bytes; it refuses to read more than 10,000 by default.
constexpr size_t kMaxNpyHeaderBytes = 64 * 1024;

std::string descr_of(DType dtype) {
    switch (dtype) {
        case DType::Float32: return "<f4";
        case DType::Float64: return "<f8";
        case DType::Int64: return "<i8";
        case DType::UInt8: return "|u1";
    }
    MG_FAIL("npy: unknown dtype {}", int(dtype));
}

// What the header dict says.
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
};

// A parser of the header's Python dict literal, {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }: one pass over the bounded text, no recursion, no regex (std::regex
// recurses per character and overflows the stack on long input).
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& path, size_t offset)
        : text_(text), path_(path), offset_(offset) {}

    NpyHeader parse() {
        NpyHeader h;
        bool have_descr = false, have_order = false, have_shape = false;
        expect('{');
        while (skip_space(), peek() != '}') {
            const std::string key = string_literal("a key");
            expect(':');
            if (key == "descr") {
                MG_CHECK(!have_descr, "{}: 'descr' given twice", where());
                skip_space();
                MG_CHECK(peek() == '\'' || peek() == '"',
                         "{}: 'descr' is not a string (structured dtypes are not supported)", where());
                h.descr = string_literal("the 'descr' string");
                have_descr = true;
            } else if (key == "fortran_order") {
                MG_CHECK(!have_order, "{}: 'fortran_order' given twice", where());
                h.fortran_order = boolean();
                have_order = true;
            } else if (key == "shape") {
                MG_CHECK(!have_shape, "{}: 'shape' given twice", where());
                h.shape = shape_tuple();
                have_shape = true;
            } else {
                MG_FAIL("{}: unknown header key '{}' (expected descr, fortran_order, shape)", where(),
                        quote_short(key));
            }
            skip_space();
            if (peek() != ',') break;
            ++pos_;
        }
        expect('}');
        skip_space();
        MG_CHECK(pos_ == text_.size(), "{}: unexpected text after the header dict", where());
        MG_CHECK(have_descr && have_order && have_shape, "npy: '{}': header lacks {} (byte offset {})", path_,
                 !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'", offset_);
        return h;
    }

private:
    std::string where() const { return fmt::format("npy: '{}': header, byte offset {}", path_, offset_ + pos_); }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r'))
            ++pos_;
    }
    void expect(char c) {
        skip_space();
        MG_CHECK(peek() == c, "{}: expected '{}'", where(), c);
        ++pos_;
    }
    std::string string_literal(const char* what) {
        skip_space();
        const char quote = peek();
        MG_CHECK(quote == '\'' || quote == '"', "{}: expected {} in quotes", where(), what);
        const size_t end = text_.find(quote, pos_ + 1);
        MG_CHECK(end != std::string_view::npos, "{}: {} has no closing quote", where(), what);
        std::string s(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
        return s;
    }
    bool boolean() {
        skip_space();
        for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
            if (text_.substr(pos_, std::strlen(word)) == word) {
                pos_ += std::strlen(word);
                return value;
            }
        MG_FAIL("{}: 'fortran_order' must be True or False", where());
    }
    // (d0, d1, ...) of non-negative integers; "()" is a 0-d array and "(n,)" a 1-d one.
    std::vector<int64_t> shape_tuple() {
        std::vector<int64_t> dims;
        expect('(');
        while (skip_space(), peek() != ')') {
            MG_CHECK(peek() != '-', "{}: negative dimension in 'shape'", where());
            MG_CHECK(peek() >= '0' && peek() <= '9', "{}: 'shape' must be a tuple of integers", where());
            MG_CHECK(dims.size() < size_t(Shape::kMaxDims), "{}: 'shape' has more than {} dimensions", where(),
                     Shape::kMaxDims);
            const size_t start = pos_;
            int64_t d = 0;
            while (peek() >= '0' && peek() <= '9') {
                MG_CHECK(!__builtin_mul_overflow(d, int64_t(10), &d) && !__builtin_add_overflow(d, peek() - '0', &d),
                         "npy: '{}': header, byte offset {}: dimension {} is too large", path_, offset_ + start,
                         quote_short(text_.substr(start, text_.find_first_not_of("0123456789", start) - start), 24));
                ++pos_;
            }
            dims.push_back(d);
            skip_space();
            if (peek() != ',') break;
            ++pos_;
        }
        expect(')');
        return dims;
    }

    std::string_view text_;
    const std::string& path_;
    size_t offset_;  // of the header in the file, for messages
    size_t pos_ = 0;
};

std::optional<DType> dtype_of(const std::string& descr) {
    if (descr == "<f4") return DType::Float32;
    if (descr == "<f8") return DType::Float64;
    if (descr == "<i8") return DType::Int64;
    if (descr == "|u1" || descr == "<u1" || descr == "=u1" || descr == "u1") return DType::UInt8;
    return std::nullopt;
}

}  // namespace

Tensor read_npy(const std::string& path) {
    require_regular_file(path, "npy:");
    std::ifstream in(path, std::ios::binary);
    MG_CHECK(in.good(), "npy: cannot open '{}'", path);
    in.seekg(0, std::ios::end);
    const std::streamoff file_size = in.tellg();
    MG_CHECK(file_size >= 0, "npy: cannot read '{}'", path);
    const uint64_t size = uint64_t(file_size);
    in.seekg(0);

    unsigned char lead[12] = {};
    in.read(reinterpret_cast<char*>(lead), std::streamsize(std::min<uint64_t>(size, 12)));
    in.clear();  // a 10- or 11-byte file: the short read is judged below, by the size
    MG_CHECK(size >= 10 && std::memcmp(lead, "\x93NUMPY", 6) == 0,
             "npy: '{}' is not a .npy file (bytes 0-5 are not \\x93NUMPY)", path);
    const int major = lead[6];
    MG_CHECK(major >= 1 && major <= 3, "npy: '{}': format version {} at byte offset 6 is not 1, 2 or 3", path, major);
    uint64_t header_len = 0, header_at = 0;
    if (major == 1) {
        header_len = uint64_t(lead[8]) | uint64_t(lead[9]) << 8;
        header_at = 10;
    } else {
        MG_CHECK(size >= 12, "npy: '{}': file ends inside the header length (byte offset 8)", path);
        for (int i = 3; i >= 0; --i) header_len = header_len << 8 | lead[8 + i];
        header_at = 12;
    }
    MG_CHECK(header_len <= size - header_at,
             "npy: '{}': header of {} bytes at byte offset {} runs past the end ({} bytes)", path, header_len,
             header_at, size);
    MG_CHECK(header_len <= kMaxNpyHeaderBytes,
             "npy: '{}': header of {} bytes at byte offset {} is longer than the {} accepted", path, header_len,
             header_at, kMaxNpyHeaderBytes);
    std::string text(size_t(header_len), '\0');
    in.seekg(std::streamoff(header_at));
    in.read(text.data(), std::streamsize(header_len));
    MG_CHECK(in.good(), "npy: '{}': reading the header at byte offset {} failed", path, header_at);
    const uint64_t data_at = header_at + header_len;

    const NpyHeader header = HeaderParser(text, path, size_t(header_at)).parse();
    const std::optional<DType> dtype = dtype_of(header.descr);
    MG_CHECK(dtype.has_value(),
             "npy: '{}': dtype '{}' is not supported (float32 '<f4', float64 '<f8', int64 '<i8', uint8 '|u1')", path,
             quote_short(header.descr, 20));
    MG_CHECK(!header.fortran_order,
             "npy: '{}': Fortran-order arrays are not supported; save with np.ascontiguousarray", path);
    Shape shape(header.shape);
    uint64_t need = uint64_t(dtype_size(*dtype));
    bool overflow = false;
    for (int64_t d : header.shape) overflow = overflow || __builtin_mul_overflow(need, uint64_t(d), &need);
    MG_CHECK(!overflow && need == size - data_at,
             "npy: '{}': shape {} of {} needs {} data bytes from byte offset {}, the file has {}", path, shape,
             header.descr, overflow ? std::string("more than 2^64") : std::to_string(need), data_at, size - data_at);

    Tensor t = empty(shape, {*dtype, Device::CPU});
    if (need > 0) {
        in.read(static_cast<char*>(t.raw_data()), std::streamsize(need));
        MG_CHECK(in.good(), "npy: '{}': reading {} data bytes at byte offset {} failed", path, need, data_at);
    }
    return t;
}
void write_npy(const std::string& path, const Tensor& t) {
    Tensor c = t.to(Device::CPU).contiguous();
    std::string dims;
    for (int64_t d : c.shape().vec()) dims += std::to_string(d) + ", ";
    if (c.dim() > 1) dims.resize(dims.size() - 2);  // (N, 28, 28), but (N, ) for one dimension
    std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr_of(c.dtype()), dims);
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    const std::string tmp = temp_path(path);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        MG_CHECK(out.good(), "npy: cannot write '{}'", tmp);
        out.write("\x93NUMPY\x01\x00", 8);
        char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
        out.write(len, 2);
        out.write(header.data(), std::streamsize(header.size()));
        out.write(static_cast<const char*>(c.raw_data()), std::streamsize(c.numel() * int64_t(dtype_size(c.dtype()))));
        MG_CHECK(out.good(), "npy: writing '{}' failed", tmp);
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace mg::io
