// PNG grids and PNG reading, with stb_image_write (Debian's libstb-dev headers) and the
// decoder of core/io/image_decode.h.
//
// The stb_image_write implementation is compiled here, static (no symbols exported,
// nothing to link), with no stdio: we write the bytes ourselves, so every error names the
// file and a write is atomic.
#include "core/io/image.h"

#include "core/io/image_decode.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>

namespace mg::io {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint8_t to_byte(double v, double lo, double hi) {
    if (std::isnan(v)) return 0;
    double x = (v - lo) / (hi - lo) * 255.0;
    return uint8_t(std::lround(std::clamp(x, 0.0, 255.0)));
}

// Pixels of an image batch as uint8, in NCHW order.
std::vector<uint8_t> pixels_u8(const Tensor& images, double lo, double hi) {
    Tensor x = images.device() == Device::CPU ? images : images.to(Device::CPU);
    if (x.dtype() == DType::UInt8) return x.to_vector<uint8_t>();
    std::vector<double> v = x.to_vector<double>();
    std::vector<uint8_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = to_byte(v[i], lo, hi);
    return out;
}

// Writes bytes to a temporary file next to `path`, then renames it over `path`.
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes, const char* op) {
    namespace fs = std::filesystem;
    fs::path target(path);
    fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    MG_CHECK(fs::is_directory(dir, ec), "{}: cannot write '{}': directory '{}' does not exist", op, path,
             dir.string());
    std::string name = target.filename().string();
    name.insert(0, 1, '.');
    name += fmt::format(".tmp.{}.XXXXXX", ::getpid());  // see core/io/temp_files.h
    std::string tmp = (dir / name).string();
    int fd = mkstemp(tmp.data());
    MG_CHECK(fd >= 0, "{}: cannot write '{}': creating a temporary file in '{}' failed: {}", op, path, dir.string(),
             std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            ::close(fd);
            std::remove(tmp.c_str());
            MG_FAIL("{}: writing '{}' failed after {} of {} bytes: {}", op, path, done, bytes.size(),
                    std::strerror(err));
        }
        done += size_t(w);
    }
    // The temporary file is created 0600; images are for everyone to read.
    fchmod(fd, 0644);
    if (::close(fd) != 0) {
        int err = errno;
        std::remove(tmp.c_str());
        MG_FAIL("{}: writing '{}' failed: {}", op, path, std::strerror(err));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(tmp.c_str());
        MG_FAIL("{}: cannot write '{}': rename from '{}' failed: {}", op, path, tmp, std::strerror(err));
    }
}

// uint8 planes [C, H, W] -> interleaved PNG bytes.
std::vector<uint8_t> encode_png(const std::string& path, const uint8_t* chw, int64_t C, int64_t H, int64_t W) {
    MG_CHECK(H >= 1 && W >= 1 && H <= (1 << 24) && W <= (1 << 24) && H * W * C <= (int64_t(1) << 31),
             "write_png: '{}': image of {}x{}x{} is empty or too large for a PNG", path, C, H, W);
    std::vector<uint8_t> hwc(size_t(C * H * W));
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i) hwc[size_t(i * C + c)] = chw[c * H * W + i];
    std::vector<uint8_t> png;
    auto append = [](void* ctx, void* data, int size) {
        auto* out = static_cast<std::vector<uint8_t>*>(ctx);
        out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
    };
    int ok = stbi_write_png_to_func(append, &png, int(W), int(H), int(C), hwc.data(), int(W * C));
    MG_CHECK(ok != 0 && !png.empty(), "write_png: '{}': PNG encoding failed", path);
    return png;
}

std::vector<uint8_t> read_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    MG_CHECK(fs::exists(path, ec), "read_png: cannot open '{}': no such file", path);
    MG_CHECK(!fs::is_directory(path, ec), "read_png: cannot open '{}': it is a directory", path);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    MG_CHECK(f != nullptr, "read_png: cannot open '{}': {}", path, std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
    bool failed = std::ferror(f) != 0;
    std::fclose(f);
    MG_CHECK(!failed, "read_png: reading '{}' failed", path);
    return bytes;
}

}  // namespace

Tensor make_grid(const Tensor& images, const GridOptions& opt) {
    MG_CHECK(images.defined() && images.dim() == 4, "make_grid: expected images [N, C, H, W], got {}",
             images.defined() ? images.shape().str() : "an undefined tensor");
    const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
    MG_CHECK(C == 1 || C == 3, "make_grid: images have {} channels, expected 1 or 3 (shape {})", C,
             images.shape().str());
    MG_CHECK(N >= 1 && H >= 1 && W >= 1, "make_grid: no pixels in images of shape {}", images.shape().str());
    MG_CHECK(images.dtype() != DType::Int64, "make_grid: expected float or uint8 images, got int64");
    MG_CHECK(opt.nrow >= 1 && opt.scale >= 1 && opt.scale <= 64 && opt.border >= 0 && opt.border <= 1024,
             "make_grid: need nrow >= 1, 1 <= scale <= 64, 0 <= border <= 1024; got nrow {}, scale {}, border {}",
             opt.nrow, opt.scale, opt.border);
    MG_CHECK(opt.hi > opt.lo, "make_grid: value range [{}, {}] is empty", opt.lo, opt.hi);

    const int64_t cols = std::min(N, opt.nrow), rows = (N + opt.nrow - 1) / opt.nrow;
    const int64_t tile_h = H * opt.scale, tile_w = W * opt.scale;
    const int64_t grid_h = rows * (tile_h + opt.border) + opt.border;
    const int64_t grid_w = cols * (tile_w + opt.border) + opt.border;
    MG_CHECK(grid_h <= (1 << 20) && grid_w <= (1 << 20) && grid_h * grid_w <= (int64_t(1) << 28),
             "make_grid: a grid of {}x{} pixels is too large", grid_h, grid_w);
    const auto& bc = opt.border_color;
    const bool grey = bc[0] == bc[1] && bc[1] == bc[2];
    const int64_t out_c = (C == 1 && grey) ? 1 : 3;

    Tensor grid = empty(Shape{out_c, grid_h, grid_w}, {DType::UInt8});
    uint8_t* g = grid.data<uint8_t>();
    for (int64_t c = 0; c < out_c; ++c) std::fill(g + c * grid_h * grid_w, g + (c + 1) * grid_h * grid_w, bc[size_t(c)]);

    const std::vector<uint8_t> px = pixels_u8(images, opt.lo, opt.hi);
    for (int64_t i = 0; i < N; ++i) {
        const int64_t top = opt.border + (i / opt.nrow) * (tile_h + opt.border);
        const int64_t left = opt.border + (i % opt.nrow) * (tile_w + opt.border);
        for (int64_t c = 0; c < out_c; ++c) {
            const uint8_t* src = px.data() + (i * C + (C == 1 ? 0 : c)) * H * W;
            uint8_t* plane = g + c * grid_h * grid_w;
            for (int64_t y = 0; y < tile_h; ++y) {
                const uint8_t* src_row = src + (y / opt.scale) * W;
                uint8_t* dst_row = plane + (top + y) * grid_w + left;
                for (int64_t x = 0; x < tile_w; ++x) dst_row[x] = src_row[x / opt.scale];
            }
        }
    }
    return grid;
}

void write_png_grid(const std::string& path, const Tensor& images, const GridOptions& options) {
    Tensor grid = make_grid(images, options);
    std::vector<uint8_t> png = encode_png(path, grid.data<uint8_t>(), grid.size(0), grid.size(1), grid.size(2));
    write_file_atomically(path, png, "write_png_grid");
}

void write_png(const std::string& path, const Tensor& image) {
    MG_CHECK(image.defined() && (image.dim() == 3 || (image.dim() == 4 && image.size(0) == 1)),
             "write_png: '{}': expected an image [C, H, W] or [1, C, H, W], got {}", path,
             image.defined() ? image.shape().str() : "an undefined tensor");
    MG_CHECK(image.dtype() == DType::UInt8, "write_png: '{}': expected uint8 pixels, got {} (use write_png_grid for "
             "float images)", path, image.dtype());
    const int64_t off = image.dim() - 3;
    const int64_t C = image.size(off), H = image.size(off + 1), W = image.size(off + 2);
    MG_CHECK(C == 1 || C == 3, "write_png: '{}': {} channels, expected 1 or 3", path, C);
    std::vector<uint8_t> px = pixels_u8(image, 0.0, 255.0);
    write_file_atomically(path, encode_png(path, px.data(), C, H, W), "write_png");
}

Tensor read_png(const std::string& path, DType dtype, double lo, double hi) {
    MG_CHECK(dtype == DType::UInt8 || is_floating(dtype), "read_png: '{}': cannot read into {}", path, dtype);
    std::vector<uint8_t> bytes = read_file(path);
    if (bytes.size() < 8 || std::memcmp(bytes.data(), kPngSignature, 8) != 0) {
        std::string head;
        for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); ++i) head += fmt::format("{:02x} ", bytes[i]);
        MG_FAIL("read_png: '{}' is not a PNG file: it starts with [{}] ({} bytes), a PNG with 89 50 4e 47 0d 0a 1a 0a",
                path, head.empty() ? "" : head.substr(0, head.size() - 1), bytes.size());
    }
    DecodeOptions as_stored;
    as_stored.channels = 0;               // grey files grey, colour files RGB
    as_stored.background = std::nullopt;  // alpha dropped
    as_stored.max_file_bytes = bytes.size();
    as_stored.max_pixels = int64_t(1) << 28;  // the largest grid make_grid makes
    const ImageU8 hwc = decode_image({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                                     fmt::format("read_png: '{}'", path), as_stored);
    const int64_t C = hwc.channels, plane = hwc.height * hwc.width;
    Tensor out = empty(Shape{1, C, hwc.height, hwc.width}, {DType::UInt8});
    uint8_t* chw = out.data<uint8_t>();
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < plane; ++i) chw[c * plane + i] = hwc.pixels[size_t(i * C + c)];
    if (dtype == DType::UInt8) return out;
    // [0, 255] -> [lo, hi]
    std::vector<double> v(size_t(C * plane));
    for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * double(chw[i]) / 255.0;
    return from_vector(v, out.shape()).to(dtype);
}

}  // namespace mg::io
