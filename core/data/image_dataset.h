// One entry point for every image data set, whatever its source:
//
//   open_image_dataset("folder:DIR" | "npy:FILE[,labels=FILE][,layout=nhwc|nchw]"
//                      | "emoji:google,twitter" (either or both) | "emoji", options)
//
// Each gives the same view, PackedImages (core/data/image_cache.h): N images uint8
// [C, H, W] of the options' size and channel count, labels and class names.
//
//   folder:  open_image_folder (scan, decode, fit, cached).
//   npy:     a uint8 array [N, H, W] (grey), [N, H, W, C] or [N, C, H, W], C in {1, 3, 4},
//            read with io::read_npy (the header is checked against the file's size before
//            anything is allocated). The layout is the one whose channel axis holds 1, 3 or
//            4; when both could (e.g. [N, 3, 8, 3]) it is an error unless layout= says.
//            Alpha is composited over the background, channels converted as image_decode.h
//            does, and images of another size fitted (fit_to). Labels: an int64 or uint8 .npy
//            [N] of values in [0, 2^31); the classes are "0", "1", ... up to the largest.
//            Without labels: one class "". Held in memory (no cache file).
//   emoji:   the npm packages emoji-datasource-google (Noto Emoji, Apache-2.0) and
//            emoji-datasource-twitter (Twemoji, CC-BY-4.0), installed by tools/run into
//            options.npm_dir: every 64x64 image of emoji.json (skin-tone variants included)
//            whose has_img_<vendor> is true, except the "Component" category; labels are
//            the categories sorted by name (9). Images are decoded, composited over the
//            background and fitted once, into the image cache. With two vendors the images
//            of the first come first, and `pairs` lists (i, j): the same emoji in both.
//   fashion-mnist: not here; it keeps its own loader (core/data/fashion_mnist.h), whose
//            [N, 1, 28, 28] float tensors the models read directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/data/image_cache.h"

namespace mg::data {

enum class NpyLayout { automatic, nhwc, nchw };

struct ImageDatasetOptions {
    ImageCacheOptions cache;  // size, channels, filter, fit, background, cache folder, threads
    std::string npm_dir;      // emoji: where tools/run installed the packages; "" = default_npm_dir()
};

struct ImageDataset {
    std::string source;                             // the spec it was opened from
    PackedImages images;
    std::vector<std::pair<int64_t, int64_t>> pairs;  // emoji with two vendors: the same emoji in both
};

ImageDataset open_image_dataset(std::string_view spec, const ImageDatasetOptions& options);

// The npy source (above); an empty labels_path: one class "".
PackedImages open_npy_images(const std::string& path, const std::string& labels_path, NpyLayout layout,
                             const ImageCacheOptions& options);

// The emoji source for "google", "twitter" or both (in the order given).
ImageDataset open_emoji_images(const std::vector<std::string>& vendors, const std::string& npm_dir,
                               const ImageCacheOptions& options);

// $MINIGEN_NPM_DIR, else default_cache_base() + "/npm" (where tools/run installs).
std::string default_npm_dir();

// The package versions tools/run installs (tools/run and this must agree).
inline constexpr std::string_view kEmojiDatasourceVersion = "16.0.0";

}  // namespace mg::data
