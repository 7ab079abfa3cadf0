// ImageGPT's colour palette (Chen et al. 2020, "Generative Pretraining from Pixels", section
// 3.1): colour pixels are clustered by k-means into K colours, and each pixel becomes the
// index of its nearest colour, one token per pixel instead of three sub-pixel values.
//
//   fitting   Lloyd's k-means on up to kMaxFitPixels training pixels (values in [0, 1], a
//             seeded uniform subsample), squared Euclidean distance, seeded initial centres:
//               kmeans++  the first centre a uniform pick, each next one drawn with
//                         probability proportional to its squared distance to the nearest
//                         centre so far (Arthur and Vassilvitskii 2007)
//               random    K distinct pixels picked uniformly
//             then at most `iterations` rounds of (assign each pixel to its nearest centre,
//             move each centre to its pixels' mean) until no assignment changes. A centre
//             left with no pixels moves to the pixel farthest from its centre.
//   encoding  each pixel -> the index of the nearest centre (the lowest index on a tie).
//
// The random numbers come from a local 64-bit generator seeded with `seed`, so the palette
// depends on (pixels, K, seed, init) alone, not on the process-wide generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mg::models::imagegpt {

constexpr int64_t kMinPalette = 16, kMaxPalette = 512;
constexpr int64_t kMaxFitPixels = 65536;  // enough for a few hundred colours; fitting stays < 1 s

enum class PaletteInit { KMeansPlusPlus, Random };
PaletteInit parse_palette_init(const std::string& name);  // "kmeans++" | "random"
std::string palette_init_name(PaletteInit init);

struct KMeansOptions {
    int64_t k = 64;
    PaletteInit init = PaletteInit::KMeansPlusPlus;
    uint64_t seed = 0;
    int64_t iterations = 30;
};

// Centres [k, C] (row-major) of `pixels` [P, C] (row-major, P >= k, every value finite).
std::vector<float> kmeans(const std::vector<float>& pixels, int64_t channels, const KMeansOptions& options);

// The nearest centre of each pixel: pixels [P, C], centres [K, C] -> P indices.
std::vector<int64_t> nearest_centres(const std::vector<float>& pixels, const std::vector<float>& centres,
                                     int64_t channels);

// The palette of uint8 images [N, C, H, W] (levels / 255): up to kMaxFitPixels of their pixels,
// picked uniformly with `options.seed`, clustered. Returns float32 [k, C] in [0, 1].
// Throws when the images have fewer distinct pixels drawn than k.
Tensor fit_palette(const Tensor& images, const KMeansOptions& options);

// Tokens int64 [N, H*W] of float images [N, C, H, W] in [0, 1], by the palette [K, C].
Tensor palette_tokens(const Tensor& images, const Tensor& palette);

// Images float32 [N, C, H, W] of tokens [N, H*W] in [0, K): each pixel its palette colour.
Tensor palette_images(const Tensor& tokens, const Tensor& palette, int64_t height, int64_t width);

}  // namespace mg::models::imagegpt
