// Batch transforms: what turns stored uint8 images into what a model trains on.
//
// Every function takes a whole batch and, when random, a RandomStream it draws from
// in a fixed order (image by image, pixel by pixel), so the same stream gives the same
// result on any thread. The loader hands each batch its own stream (loader.h).
//
//   to_float       uint8 -> float32, v/255 in [0, 1] or 2*v/255 - 1 in [-1, 1]
//   random_hflip   mirrors each image left-right with probability p
//   random_crop    pads each image by `padding` on every side, crops back to H x W at a
//                  random offset (apply it before to_float: pad value 0 is black then)
//   binarize       dynamic binarization: pixel ~ Bernoulli(intensity), a fresh draw per batch
//   augment        the training augmentation of uint8 images in one pass per image: random
//                  crop (reflection padding), flip and colour jitter, then to_float
//
// Image batches are [B, C, H, W] on the CPU; inputs need not be contiguous.
#pragma once

#include <functional>
#include <vector>

#include "core/data/augment.h"
#include "core/data/random_stream.h"
#include "core/tensor.h"

namespace mg::data {

enum class PixelRange { ZeroOne, MinusOneOne };

// uint8 any shape -> float32 of the same shape.
Tensor to_float(const Tensor& u8, PixelRange range);
// [B, C, H, W] of any dtype -> same shape and dtype.
Tensor random_hflip(const Tensor& batch, RandomStream& rng, double p = 0.5);
// [B, C, H, W] of any dtype -> same shape and dtype; `fill` is the padding value.
Tensor random_crop(const Tensor& batch, RandomStream& rng, int64_t padding, double fill = 0.0);
// uint8 (intensity v/255) or float (intensity clamped to [0, 1]), any shape -> float32 of 0s and 1s.
Tensor binarize(const Tensor& batch, RandomStream& rng);

// What augment does to each image of a batch, in this order:
//   crop    pad by `crop` pixels on every side, mirrored without repeating the border pixel
//           (torchvision's RandomCrop(size, padding=crop, padding_mode="reflect")), and crop
//           back to H x W at an offset drawn uniformly (row, then column); crop < H and W
//   hflip   mirror left-right with probability 1/2
//   jitter  ColorJitter (augment.h; Pillow's arithmetic, bit for bit)
//   range   then to_float
// An image's draws come in that order (crop offsets, flip, jitter), image after image, so
// with crop 0 and no jitter the result is random_hflip then to_float, byte for byte.
struct AugmentOptions {
    int64_t crop = 0;
    bool hflip = false;
    ColorJitter jitter = {};
    PixelRange range = PixelRange::MinusOneOne;
};
// uint8 [B, C, H, W] with C 1 or 3 -> float32 [B, C, H, W].
Tensor augment(const Tensor& u8, const AugmentOptions& options, RandomStream& rng);

// A batch transform for the loader: (batch, its random stream) -> transformed batch.
using Transform = std::function<Tensor(const Tensor& batch, RandomStream& rng)>;

namespace transforms {
Transform to_float(PixelRange range);
Transform hflip(double p = 0.5);
Transform crop(int64_t padding, double fill = 0.0);
Transform binarize();
Transform augment(const AugmentOptions& options);
// Applies each in order, all drawing from the batch's one stream.
Transform compose(std::vector<Transform> steps);
}  // namespace transforms

}  // namespace mg::data
