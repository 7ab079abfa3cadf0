// Decoding PNG and JPEG files into 8-bit pixels, for data sets of one's own images.
//
// Bytes are read with a size cap and decoded from memory (stb_image, PNG and JPEG only);
// the header's width x height is checked against a pixel cap before anything is decoded,
// and every allocation the decoder makes is capped by what that header allows, so a
// hostile file cannot make it allocate without bound. Colour handling follows Pillow:
//
//   grey from RGB     L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16   (Pillow's convert("L"),
//                     ITU-R 601-2 luma 299/587/114 in 16-bit fixed point, rounded)
//   RGB from grey     R = G = B = L
//   alpha             composited over `background`: c' = round((c*a + bg*(255-a)) / 255),
//                     what Pillow's paste(image, mask=alpha) onto a background gives; grey
//                     output composites in RGB first, then takes L. No background: alpha dropped.
//   16-bit PNG        v8 = round(v16 * 255 / 65535) (Pillow keeps the high byte of 16-bit RGB,
//                     at most 1 level away; it clips 16-bit grey at 255, which we do not copy)
//
// Refused, each as an mg::Error naming the file: anything that is not a PNG or JPEG (GIF,
// BMP, WebP, ... are named when recognised), animated PNG (APNG), CMYK/YCCK JPEG, JPEG with
// arithmetic coding or lossless coding, a zero-size image, one over the pixel cap, a file
// over the byte cap, and corrupt or truncated data. Progressive JPEG is decoded.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mg::io {

// An 8-bit image, rows of interleaved channels: pixels[(y * width + x) * channels + c].
struct ImageU8 {
    int64_t height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;

    uint8_t* row(int64_t y) { return pixels.data() + y * width * channels; }
    const uint8_t* row(int64_t y) const { return pixels.data() + y * width * channels; }
};

using Rgb = std::array<uint8_t, 3>;

struct DecodeOptions {
    int channels = 3;                       // 1 (grey), 3 (RGB), or 0: 1 for grey files, 3 for colour ones
    std::optional<Rgb> background = Rgb{255, 255, 255};  // alpha composited over this; nullopt drops alpha
    int64_t max_pixels = int64_t(1) << 26;  // width * height (64 Mpx: 8192 x 8192)
    uint64_t max_file_bytes = 64ull << 20;
};

// Decodes PNG or JPEG bytes. `name` names the source in errors (a quoted file name).
ImageU8 decode_image(std::string_view bytes, std::string_view name, const DecodeOptions& options = {});

// Reads `path` (a regular file of at most options.max_file_bytes) and decodes it.
ImageU8 read_image(const std::string& path, const DecodeOptions& options = {});

// Pillow's convert("L") of one RGB pixel.
inline uint8_t luma(uint8_t r, uint8_t g, uint8_t b) {
    return uint8_t((uint32_t(r) * 19595u + uint32_t(g) * 38470u + uint32_t(b) * 7471u + 0x8000u) >> 16);
}

}  // namespace mg::io
