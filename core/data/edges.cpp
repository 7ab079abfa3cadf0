#include "core/data/edges.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/io/image_decode.h"
#include "kernels/base.h"

namespace mg::data {

void sobel_edges(const uint8_t* image, int64_t channels, int64_t height, int64_t width, uint8_t* edges) {
    MG_CHECK(channels == 1 || channels == 3, "sobel_edges: expected 1 or 3 channels, got {}", channels);
    MG_CHECK(height > 0 && width > 0, "sobel_edges: empty image {}x{}", width, height);
    const int64_t plane = height * width;
    std::vector<int32_t> grey(static_cast<size_t>(plane));
    for (int64_t i = 0; i < plane; ++i)
        grey[size_t(i)] = channels == 1 ? image[i] : io::luma(image[i], image[plane + i], image[2 * plane + i]);
    auto at = [&](int64_t y, int64_t x) {  // replicated border
        return grey[size_t(std::clamp<int64_t>(y, 0, height - 1) * width + std::clamp<int64_t>(x, 0, width - 1))];
    };
    std::vector<double> magnitude(static_cast<size_t>(plane));
    double strongest = 0;
    for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) {
            const int32_t gx = (at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1)) -
                               (at(y - 1, x - 1) + 2 * at(y, x - 1) + at(y + 1, x - 1));
            const int32_t gy = (at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1)) -
                               (at(y - 1, x - 1) + 2 * at(y - 1, x) + at(y - 1, x + 1));
            const double m = std::sqrt(double(gx) * gx + double(gy) * gy);
            magnitude[size_t(y * width + x)] = m;
            strongest = std::max(strongest, m);
        }
    for (int64_t i = 0; i < plane; ++i)
        edges[i] = strongest > 0 ? uint8_t(std::lround(255.0 * magnitude[size_t(i)] / strongest)) : uint8_t(0);
}

}  // namespace mg::data
