// How the convolutional image networks (the GANs, convvae) scale with the image: any square
// size S = base * 2^k, k >= 2, with base 7 when S / 7 is a power of two (28: Fashion-MNIST,
// 56), else base 4 (16, 32, 64, 128). The networks have k blocks of stride 2 between the
// image and a base x base feature map.
#pragma once

#include <cstdint>

namespace mg::models {

struct ImageShape {
    int64_t base = 7;    // the smallest feature map: base x base
    int64_t blocks = 2;  // up- or down-blocks between it and the image (each a factor of 2)
};
// The networks' shape for S x S images; an mg::Error for a size they cannot make.
ImageShape image_shape(int64_t size);

}  // namespace mg::models
