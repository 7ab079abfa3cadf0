#include "core/io/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <vector>

#include <fmt/format.h>

#include "core/io/temp_files.h"

namespace mg::io {

namespace {

std::string descr_of(DType dtype) {
    switch (dtype) {
        case DType::Float32: return "<f4";
        case DType::Float64: return "<f8";
        case DType::Int64: return "<i8";
        case DType::UInt8: return "|u1";
    }
    MG_FAIL("npy: unknown dtype {}", int(dtype));
}

}  // namespace

Tensor read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    MG_CHECK(in.good(), "npy: cannot open '{}'", path);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t size = bytes.size();
    MG_CHECK(size >= 10 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0,
             "npy: '{}' is not a .npy file (bytes 0-5 are not \\x93NUMPY)", path);
    const int major = static_cast<unsigned char>(bytes[6]);
    MG_CHECK(major >= 1 && major <= 3, "npy: '{}': format version {} at byte offset 6 is not 1, 2 or 3", path, major);
    size_t header_len = 0, header_at = 0;
    if (major == 1) {
        header_len = size_t(static_cast<unsigned char>(bytes[8])) | size_t(static_cast<unsigned char>(bytes[9])) << 8;
        header_at = 10;
    } else {
        MG_CHECK(size >= 12, "npy: '{}': file ends inside the header length (byte offset 8)", path);
        for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + i]);
        header_at = 12;
    }
    MG_CHECK(header_len <= size - header_at, "npy: '{}': header of {} bytes at byte offset {} runs past the end ({} bytes)",
             path, header_len, header_at, size);
    const std::string header(bytes.data() + header_at, header_len);
    const size_t data_at = header_at + header_len;

    std::smatch m;
    MG_CHECK(std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=]?[a-zA-Z]\d+)')")),
             "npy: '{}': header has no 'descr' (byte offset {}): {}", path, header_at, header);
    std::string descr = m[1];
    if (descr == "<u1" || descr == "=u1" || descr == "u1") descr = "|u1";
    DType dtype;
    if (descr == "<f4") dtype = DType::Float32;
    else if (descr == "<f8") dtype = DType::Float64;
    else if (descr == "<i8") dtype = DType::Int64;
    else if (descr == "|u1") dtype = DType::UInt8;
    else MG_FAIL("npy: '{}': dtype '{}' is not supported (float32 '<f4', float64 '<f8', int64 '<i8', uint8 '|u1')", path, descr);
    MG_CHECK(std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")),
             "npy: '{}': header has no 'fortran_order': {}", path, header);
    MG_CHECK(m[1] == "False", "npy: '{}': Fortran-order arrays are not supported; save with np.ascontiguousarray", path);
    MG_CHECK(std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")),
             "npy: '{}': header has no 'shape': {}", path, header);
    std::vector<int64_t> dims;
    std::string shape_text = m[1];
    std::regex number(R"(\d+)");
    for (auto it = std::sregex_iterator(shape_text.begin(), shape_text.end(), number); it != std::sregex_iterator(); ++it)
        dims.push_back(std::stoll(it->str()));
    Shape shape(dims);
    const size_t need = size_t(shape.numel()) * size_t(dtype_size(dtype));
    MG_CHECK(size - data_at == need,
             "npy: '{}': shape {} of {} needs {} data bytes from byte offset {}, the file has {}", path, shape, descr,
             need, data_at, size - data_at);
    Tensor t = empty(shape, {dtype, Device::CPU});
    if (need > 0) std::memcpy(t.raw_data(), bytes.data() + data_at, need);
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
