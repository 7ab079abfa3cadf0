// Edge maps for paired image-to-image data (pix2pix's edges -> image task): the input
// is the edges of the target image, computed here rather than by another program.
//
//   grey     L = io::luma(R, G, B) (a grey image is its own L)
//   Sobel    gx = [-1 0 1; -2 0 2; -1 0 1] * L,  gy = its transpose * L, the border
//            replicated (so a flat image has no edges at its frame)
//   output   m = sqrt(gx^2 + gy^2), scaled so that the image's strongest edge is 255:
//            round(255 * m / max m); an image without edges (max m = 0) is all 0.
//
// Normalising each image to its own maximum makes faint drawings (Fashion-MNIST's dark
// garments) and bold ones (emoji outlines) give edge maps of the same contrast.
#pragma once

#include <cstdint>

namespace mg::data {

// image: [channels, height, width] planar uint8 (channels 1 or 3, the image cache's layout);
// edges: [height, width], written.
void sobel_edges(const uint8_t* image, int64_t channels, int64_t height, int64_t width, uint8_t* edges);

}  // namespace mg::data
