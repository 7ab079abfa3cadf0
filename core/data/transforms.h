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
//
// Image batches are [B, C, H, W] on the CPU; inputs need not be contiguous.
#pragma once

#include <functional>
#include <vector>

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

// A batch transform for the loader: (batch, its random stream) -> transformed batch.
using Transform = std::function<Tensor(const Tensor& batch, RandomStream& rng)>;

namespace transforms {
Transform to_float(PixelRange range);
Transform hflip(double p = 0.5);
Transform crop(int64_t padding, double fill = 0.0);
Transform binarize();
// Applies each in order, all drawing from the batch's one stream.
Transform compose(std::vector<Transform> steps);
}  // namespace transforms

}  // namespace mg::data
