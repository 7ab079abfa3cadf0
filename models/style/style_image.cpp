#include "models/style/style_image.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/data/augment.h"
#include "core/data/resize.h"
#include "core/io/image_decode.h"
#include "core/io/input.h"
#include "core/ops.h"

namespace mg::style {

namespace {

// The largest centred square of the image (no stretching of non-square pictures).
io::ImageU8 centre_square(const io::ImageU8& image) {
    const int64_t side = std::min(image.height, image.width);
    if (image.height == side && image.width == side) return image;
    io::ImageU8 out{side, side, image.channels, std::vector<uint8_t>(size_t(side * side * image.channels))};
    const int64_t top = (image.height - side) / 2, left = (image.width - side) / 2;
    for (int64_t y = 0; y < side; ++y)
        std::copy_n(image.row(top + y) + left * image.channels, side * image.channels, out.row(y));
    return out;
}

io::ImageU8 load_one(const std::string& path, int64_t channels, int64_t size, const std::string& what) {
    MG_CHECK(channels == 1 || channels == 3, "{}: channels {} must be 1 or 3", what, channels);
    MG_CHECK(size >= 8 && size <= 1024, "{}: image size {} not in 8..1024", what, size);
    io::DecodeOptions options;
    options.channels = int(channels);
    try {
        io::ImageU8 image = centre_square(io::read_image(path, options));
        if (image.height == size) return image;
        return data::resize(image, size, size, data::ResizeFilter::bicubic);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", what, e.what()));  // the decoder names the file
    }
}

bool is_image_file(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

}  // namespace

Tensor read_style_image(const std::string& path, int64_t channels, int64_t size, const std::string& what) {
    return data::images_to_batch({load_one(path, channels, size, what)}, {{0.0}, {1.0}});
}

Tensor read_style_images(const std::string& path, int64_t channels, int64_t size, const std::string& what,
                         int64_t max_images) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return read_style_image(path, channels, size, what);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec))
        if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
    MG_CHECK(!ec, "{} {}: cannot list the folder ({})", what, io::quote_short(path), ec.message());
    MG_CHECK(!files.empty(), "{} {}: the folder has no PNG or JPEG files", what, io::quote_short(path));
    std::sort(files.begin(), files.end());
    if (int64_t(files.size()) > max_images) files.resize(size_t(max_images));
    std::vector<io::ImageU8> images;
    for (const fs::path& f : files) images.push_back(load_one(f.string(), channels, size, what));
    return data::images_to_batch(images, {{0.0}, {1.0}});
}

}  // namespace mg::style
