// PNG images: sample grids out, single images in.
//
// A grid puts N images [C, H, W] in rows of `nrow` tiles, each pixel upscaled to
// scale x scale, with `border` pixels of `border_color` around every tile (the same
// layout as torchvision's make_grid: the border also runs round the outside):
//
//   width  = cols * (W*scale + border) + border,   cols = min(N, nrow)
//   height = rows * (H*scale + border) + border,   rows = ceil(N / nrow)
//
// tile i sits at row i / nrow, column i % nrow; its top-left pixel is at
// (border + col*(W*scale + border), border + row*(H*scale + border)); unused tiles
// keep the border colour. Float values map [lo, hi] -> [0, 255] (clamped, rounded);
// uint8 values are written as they are. Files are written atomically: a temporary
// file in the same directory, then rename, so a crash never leaves half a PNG.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace mg::io {

struct GridOptions {
    int64_t nrow = 8;   // tiles per row
    int64_t scale = 1;  // integer upscaling of each pixel
    int64_t border = 2;  // pixels, not scaled
    std::array<uint8_t, 3> border_color = {128, 128, 128};
    double lo = -1.0, hi = 1.0;  // range of float inputs
};

// images: [N, C, H, W], C = 1 or 3, float32/float64 in [lo, hi] or uint8 -> uint8 [C', Hg, Wg];
// C' = 1 when C = 1 and the border colour is grey, else 3.
Tensor make_grid(const Tensor& images, const GridOptions& options = {});

// Writes make_grid(images) as a PNG.
void write_png_grid(const std::string& path, const Tensor& images, const GridOptions& options = {});

// Writes one uint8 image [C, H, W] or [1, C, H, W], C = 1 (grey) or 3 (RGB).
void write_png(const std::string& path, const Tensor& image);

// Reads a PNG -> [1, C, H, W], C = 1 for grey (and grey + alpha) files, 3 for colour ones
// (alpha dropped). uint8, or float32/float64 mapped [0, 255] -> [lo, hi].
Tensor read_png(const std::string& path, DType dtype = DType::UInt8, double lo = 0.0, double hi = 1.0);

}  // namespace mg::io
