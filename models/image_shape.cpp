#include "models/image_shape.h"

#include "kernels/base.h"

namespace mg::models {

ImageShape image_shape(int64_t size) {
    for (int64_t base : {int64_t(7), int64_t(4)}) {
        int64_t blocks = 0, s = size;
        while (s > base && s % 2 == 0) s /= 2, ++blocks;
        if (s == base && blocks >= 2) return {base, blocks};
    }
    MG_FAIL("image size {} is not offered: the convolutional image models take 7 * 2^k (k >= 2: 28, 56, ...) or "
            "4 * 2^k (k >= 2: 16, 32, 64, 128, ...) pixels square",
            size);
}

}  // namespace mg::models
