// The packed cache of a folder of images: decoded, converted and resized once, then
// memory-mapped by every later run.
//
// open_image_folder(DIR) scans DIR (core/data/image_folder.h) and computes the cache key:
// the SHA-256 of every file's path, size, modification time and label, and of the
// preprocessing settings. The cache file for DIR and these settings is
// <cache_dir>/<hash of DIR's real path and the settings>.mgimg; when it holds this key it
// is mapped (a hit), otherwise (missing, another key, or invalid in any way) it is rebuilt:
// every image decoded and fitted in parallel (OpenMP) with a progress line, written to a
// temporary beside it (io::temp_path) and renamed over it. Nothing outside cache_dir is written.
//
// File layout, little-endian:
//   0    "MGIMGPK1"   magic                     48   key: 64 hex characters of SHA-256
//   8    u32 version (1)                         112  class names: per class u32 length, bytes
//   12   u32 channels, 16 u32 height, 20 u32 width    (names_bytes in all)
//   24   u64 count (N), 32 u64 skipped           P = 112 + names_bytes rounded up to 64:
//   40   u32 classes, 44 u32 names_bytes             pixels, uint8 [N, C, H, W]
//                                                P + N*C*H*W: labels, int32 [N]
// Reading validates every count and length against the file's size before mapping it
// and every label against the class count; the file must be exactly as long as the header
// says. An invalid file is an mg::Error naming it and the offset.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/data/image_folder.h"
#include "core/data/image_ops.h"
#include "core/data/resize.h"

namespace mg::data {

struct ImageCacheOptions {
    std::string cache_dir;  // required; created if missing (see default_image_cache_dir)
    int64_t height = 64, width = 64;
    int64_t channels = 3;                         // 1 (grey) or 3 (RGB)
    ResizeFilter filter = ResizeFilter::bicubic;  // Pillow's default for resize
    Fit fit = Fit::cover;
    io::Rgb background = {255, 255, 255};         // transparent pixels become this
    bool skip_bad = false;  // skip images that do not decode (counted, logged); else the first is an error
    bool progress = true;   // the progress line on stderr while building
    int threads = 0;        // 0: OpenMP's default
    std::function<void(const std::string&)> log;  // rebuild reasons and skipped images; unset: stderr
    FolderScanOptions scan;
};

// A mapped cache file: N images [C, H, W] of uint8 with their labels and class names.
class PackedImages {
public:
    int64_t size() const { return count_; }
    int64_t channels() const { return channels_; }
    int64_t height() const { return height_; }
    int64_t width() const { return width_; }
    const uint8_t* pixels() const;                // [N, C, H, W]
    const uint8_t* image(int64_t i) const;        // [C, H, W]
    int64_t label(int64_t i) const;
    const std::vector<std::string>& classes() const { return classes_; }
    const std::string& key() const { return key_; }
    const std::string& path() const { return path_; }
    int64_t skipped() const { return skipped_; }  // images left out by skip_bad when it was built
    bool built() const { return built_; }         // true: this call built it; false: a cache hit

private:
    friend PackedImages read_image_cache(const std::string& path);
    friend PackedImages open_image_files(const ImageFolder& files, const ImageCacheOptions& options);
    friend PackedImages packed_images_in_memory(std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                                                std::vector<std::string> classes, int64_t channels, int64_t height,
                                                int64_t width, std::string name);
    struct Mapping;
    std::shared_ptr<const Mapping> map_;
    int64_t count_ = 0, channels_ = 0, height_ = 0, width_ = 0, skipped_ = 0;
    uint64_t pixel_offset_ = 0, label_offset_ = 0;
    std::vector<std::string> classes_;
    std::string key_, path_;
    bool built_ = false;
};

// Scans DIR, then maps its cache or builds it (see above).
PackedImages open_image_folder(const std::string& dir, const ImageCacheOptions& options);

// The same for a list of files and labels made elsewhere (the emoji source): `files.root`
// names the source in messages and, with the settings, picks the cache file.
PackedImages open_image_files(const ImageFolder& files, const ImageCacheOptions& options);

// Images already decoded (the npy source), held in memory behind the same view: pixels
// uint8 [N, C, H, W], labels in [0, classes.size()). `name` names the source in messages.
PackedImages packed_images_in_memory(std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                                     std::vector<std::string> classes, int64_t channels, int64_t height,
                                     int64_t width, std::string name);

// Maps and validates a cache file; any inconsistency is an mg::Error naming the file.
PackedImages read_image_cache(const std::string& path);

// The cache key of a scanned folder under these settings (64 hex characters).
std::string image_cache_key(const ImageFolder& folder, const ImageCacheOptions& options);

// $MINIGEN_CACHE_DIR, else $XDG_CACHE_HOME/minigen, else $HOME/.cache/minigen.
std::string default_cache_base();
// default_cache_base() + "/images".
std::string default_image_cache_dir();

}  // namespace mg::data
