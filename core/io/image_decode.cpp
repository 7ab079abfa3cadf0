// PNG and JPEG decoding with stb_image (Debian's libstb-dev). The one stb_image
// implementation of the library is compiled here: static, PNG and JPEG only, no stdio
// (we read the bytes ourselves, with a cap), and every allocation it makes goes through
// capped_malloc/capped_realloc, whose per-thread cap decode_image sets from the header.
#include "core/io/image_decode.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/io/input.h"
#include "kernels/base.h"

namespace {

// The largest single allocation stb may make on this thread; 0: no decode in progress.
thread_local size_t t_alloc_cap = 0;

void* capped_malloc(size_t n) { return (t_alloc_cap != 0 && n > t_alloc_cap) ? nullptr : std::malloc(n); }
void* capped_realloc(void* p, size_t n) { return (t_alloc_cap != 0 && n > t_alloc_cap) ? nullptr : std::realloc(p, n); }

}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MALLOC(size) capped_malloc(size)
#define STBI_REALLOC(p, size) capped_realloc(p, size)
#define STBI_FREE(p) std::free(p)
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace mg::io {
namespace {

enum class Format { png, jpeg };

bool starts_with(std::string_view bytes, std::string_view prefix) {
    return bytes.size() >= prefix.size() && bytes.substr(0, prefix.size()) == prefix;
}

// What a file that is not a PNG or JPEG looks like, for the message.
std::string describe_other_format(std::string_view b) {
    if (starts_with(b, "GIF8")) return "it is a GIF";
    if (starts_with(b, "BM")) return "it looks like a BMP";
    if (starts_with(b, "RIFF") && b.size() >= 12 && b.substr(8, 4) == "WEBP") return "it is a WebP";
    if (starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4))) return "it is a TIFF";
    if (b.size() >= 12 && b.substr(4, 4) == "ftyp") return "it is an ISO media file (HEIC, AVIF, MP4, ...)";
    if (starts_with(b, "8BPS")) return "it is a Photoshop file";
    if (starts_with(b, "qoif")) return "it is a QOI";
    if (b.empty()) return "it is empty";
    std::string head;
    for (size_t i = 0; i < std::min<size_t>(b.size(), 8); ++i) head += fmt::format("{}{:02x}", i ? " " : "", uint8_t(b[i]));
    return fmt::format("it starts with [{}]", head);
}

uint32_t be32(std::string_view b, size_t at) {
    return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) | (uint32_t(uint8_t(b[at + 2])) << 8) |
           uint32_t(uint8_t(b[at + 3]));
}
uint32_t be16(std::string_view b, size_t at) { return (uint32_t(uint8_t(b[at])) << 8) | uint32_t(uint8_t(b[at + 1])); }

// An APNG announces itself with an acTL chunk before the first IDAT. stb would decode its
// first frame only; a data set should not silently take one frame of an animation.
void refuse_animated_png(std::string_view b, std::string_view name) {
    for (size_t at = 8; at + 8 <= b.size();) {
        const uint32_t length = be32(b, at);
        const std::string_view type = b.substr(at + 4, 4);
        MG_CHECK(type != "acTL", "{}: an animated PNG (APNG), not supported: save one frame as a PNG", name);
        if (type == "IDAT" || type == "IEND") return;
        at += 12 + size_t(length);  // length, type, data, CRC; a lying length ends the walk
    }
}

// The JPEG's frame header (SOFn): stb decodes baseline and progressive Huffman JPEGs with 1
// or 3 components. A 4-component (CMYK or YCCK) JPEG it would convert without the colour
// profile such files rely on, or misread as YCbCr plus a fourth channel: refused here.
void refuse_unsupported_jpeg(std::string_view b, std::string_view name) {
    for (size_t at = 2; at + 4 <= b.size();) {
        if (uint8_t(b[at]) != 0xFF) return;  // not at a marker: stb reports the corruption
        const uint8_t marker = uint8_t(b[at + 1]);
        if (marker == 0xFF) {  // fill byte
            ++at;
            continue;
        }
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
            at += 2;
            continue;
        }
        if (marker == 0xD9 || marker == 0xDA) return;  // end of image, start of scan
        const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (frame) {
            MG_CHECK(marker <= 0xC2, "{}: a {} JPEG (SOF{}), not supported: only baseline and progressive JPEGs are",
                     name, marker == 0xC3 ? "lossless" : marker >= 0xC9 ? "arithmetic-coded" : "hierarchical",
                     marker - 0xC0);
            if (at + 10 > b.size()) return;
            const int components = uint8_t(b[at + 9]);
            MG_CHECK(components != 4, "{}: a CMYK (or YCCK) JPEG, not supported: convert it to RGB first", name);
            return;
        }
        at += 2 + be16(b, at + 2);
    }
}

// stb_image 2.27 (Debian 12's) trusts a Huffman table's code counts: a DHT segment whose
// 16 counts add up to more than 256 writes past its tables (found by the fuzz test under
// UBSan). stb reads a DHT wherever it meets the bytes FF C4, also between the scans of a
// progressive JPEG or where damaged scan data ends early, so every FF C4 in the file is
// read here as stb would read it (bytes past the end read as 0, as stb's do).
void refuse_oversized_huffman_tables(std::string_view b, std::string_view name) {
    const auto byte = [&](size_t at) -> uint32_t { return at < b.size() ? uint8_t(b[at]) : 0u; };
    for (size_t p = b.find("\xff\xc4"); p != std::string_view::npos; p = b.find("\xff\xc4", p + 1)) {
        int64_t left = int64_t((byte(p + 2) << 8) | byte(p + 3)) - 2;
        size_t at = p + 4;
        while (left > 0) {
            const uint32_t q = byte(at);
            if ((q >> 4) > 1 || (q & 15) > 3) break;  // stb refuses this table itself
            uint32_t codes = 0;
            for (int i = 0; i < 16; ++i) codes += byte(at + 1 + size_t(i));
            MG_CHECK(codes <= 256, "{}: corrupt JPEG data: a Huffman table at offset {} has {} codes, at most 256 "
                     "are possible", name, at, codes);
            at += 17 + codes;
            left -= 17 + int64_t(codes);
            if (at > b.size()) break;
        }
    }
}

// round((c*a + bg*(255-a)) / 255): over 255 odd, no quotient ends in .5
inline uint8_t blend(uint32_t c, uint32_t bg, uint32_t a) { return uint8_t((c * a + bg * (255 - a) + 127) / 255); }

// Native stb pixels (n = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) -> `out_c` channels (1 or 3).
void convert_channels(const uint8_t* in, int n, uint8_t* out, int out_c, size_t count, const std::optional<Rgb>& bg) {
    for (size_t i = 0; i < count; ++i, in += n, out += out_c) {
        uint8_t r = in[0], g = n >= 3 ? in[1] : in[0], b = n >= 3 ? in[2] : in[0];
        const bool alpha = n == 2 || n == 4;
        if (alpha && bg) {
            const uint8_t a = in[n - 1];
            r = blend(r, (*bg)[0], a), g = blend(g, (*bg)[1], a), b = blend(b, (*bg)[2], a);
        }
        if (out_c == 3) {
            out[0] = r, out[1] = g, out[2] = b;
        } else {
            out[0] = luma(r, g, b);  // = r when r == g == b
        }
    }
}

// Sets the allocation cap for stb on this thread while alive.
struct AllocCap {
    explicit AllocCap(size_t cap) { t_alloc_cap = std::max<size_t>(cap, 1); }
    ~AllocCap() { t_alloc_cap = 0; }
    void set(size_t cap) { t_alloc_cap = std::max<size_t>(cap, 1); }
};

}  // namespace

ImageU8 decode_image(std::string_view bytes, std::string_view name, const DecodeOptions& opt) {
    MG_CHECK(opt.channels == 0 || opt.channels == 1 || opt.channels == 3,
             "{}: asked for {} channels; 1 (grey), 3 (RGB) or 0 (as stored) are possible", name, opt.channels);
    MG_CHECK(bytes.size() <= opt.max_file_bytes && bytes.size() <= size_t(INT_MAX),
             "{}: {} bytes, more than the {} an image file may have", name, bytes.size(),
             std::min<uint64_t>(opt.max_file_bytes, INT_MAX));
    Format format;
    if (starts_with(bytes, "\x89PNG\r\n\x1a\n")) {
        format = Format::png;
        refuse_animated_png(bytes, name);
    } else if (starts_with(bytes, "\xff\xd8\xff")) {
        format = Format::jpeg;
        refuse_unsupported_jpeg(bytes, name);
        refuse_oversized_huffman_tables(bytes, name);
    } else {
        MG_FAIL("{}: not a PNG or JPEG ({})", name, describe_other_format(bytes));
    }
    const char* kind = format == Format::png ? "PNG" : "JPEG";
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int size = int(bytes.size());

    // Reading the header needs a little memory; decoding, what width x height allows.
    AllocCap cap(2 * bytes.size() + (1u << 20));
    int w = 0, h = 0, n = 0;
    MG_CHECK(stbi_info_from_memory(data, size, &w, &h, &n) != 0, "{}: corrupt {} data, damaged or cut short ({})", name, kind,
             stbi_failure_reason());
    MG_CHECK(w > 0 && h > 0, "{}: a {}x{} image has no pixels", name, w, h);
    MG_CHECK(int64_t(w) * h <= opt.max_pixels, "{}: {}x{} pixels, more than the {} an image may have", name, w, h,
             opt.max_pixels);
    const size_t pixels = size_t(w) * size_t(h);
    // 16-bit RGBA is 8 bytes a pixel; PNG rows add a filter byte; JPEG keeps a plane per component.
    cap.set(2 * bytes.size() + 8 * pixels + 8 * size_t(h) + (1u << 20));

    const bool sixteen = format == Format::png && stbi_is_16_bit_from_memory(data, size) != 0;
    std::vector<uint8_t> native;
    int w2 = 0, h2 = 0;
    if (sixteen) {
        stbi_us* p = stbi_load_16_from_memory(data, size, &w2, &h2, &n, 0);
        MG_CHECK(p != nullptr, "{}: corrupt {} data, damaged or cut short ({})", name, kind, stbi_failure_reason());
        native.resize(size_t(w2) * size_t(h2) * size_t(n));
        for (size_t i = 0; i < native.size(); ++i) native[i] = uint8_t((uint32_t(p[i]) * 255u + 32767u) / 65535u);
        stbi_image_free(p);
    } else {
        stbi_uc* p = stbi_load_from_memory(data, size, &w2, &h2, &n, 0);
        MG_CHECK(p != nullptr, "{}: corrupt {} data, damaged or cut short ({})", name, kind, stbi_failure_reason());
        native.assign(p, p + size_t(w2) * size_t(h2) * size_t(n));
        stbi_image_free(p);
    }
    MG_CHECK(w2 == w && h2 == h && n >= 1 && n <= 4, "{}: corrupt {}: header says {}x{}, data {}x{}x{}", name, kind, w,
             h, w2, h2, n);

    ImageU8 out;
    out.height = h, out.width = w;
    out.channels = opt.channels != 0 ? opt.channels : (n <= 2 ? 1 : 3);
    out.pixels.resize(pixels * size_t(out.channels));
    convert_channels(native.data(), n, out.pixels.data(), int(out.channels), pixels, opt.background);
    return out;
}

ImageU8 read_image(const std::string& path, const DecodeOptions& options) {
    const std::string bytes = read_text_file(path, "image", options.max_file_bytes);
    return decode_image(bytes, fmt::format("image {}", quote_short(path, 200)), options);
}

}  // namespace mg::io
