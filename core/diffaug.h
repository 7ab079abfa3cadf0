// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
// Training"): the reference implementation's three policies, as differentiable functions
// of a float batch x [N, C, H, W] with fresh random parameters per sample.
//
//   color        x += b                       b ~ U[-0.5, 0.5)   (brightness)
//                x = (x - mean_c x) * s + mean_c x     s ~ U[0, 2)   (saturation; mean over channels)
//                x = (x - mean_chw x) * k + mean_chw x k ~ U[0.5, 1.5) (contrast; mean over the image)
//   translation  y[h, w] = x[h + dy, w + dx], 0 outside;  dy, dx uniform integers in
//                [-S, S], S = int(H / 8 + 0.5) (int(W / 8 + 0.5) for dx)
//   cutout       zero the rows [cy - L/2, cy - L/2 + L) and columns likewise (clipped to the
//                image), L = int(H / 2 + 0.5); cy uniform in [0, H + 1 - L % 2)
//
// Written with existing differentiable ops (add, mul, mean, gather_last), so first and
// second derivatives with respect to x come for free: D(diff_augment(x)) can sit inside a
// WGAN-GP or R1 penalty. Runs on any device those ops support.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/data/random_stream.h"
#include "core/tensor.h"

namespace mg {

enum class DiffAugOp { color, translation, cutout };

// The policies in the order they apply (the order they were named).
struct DiffAugPolicy {
    std::vector<DiffAugOp> ops;
    bool empty() const { return ops.empty(); }
};

// "color,translation,cutout" (any subset, any order, each at most once; "" or "none": none).
// Anything else is an mg::Error naming the value and the valid names.
DiffAugPolicy parse_diffaug(std::string_view text);

// Per-sample random parameters, one entry per sample for each drawn policy (others empty).
struct DiffAugParams {
    std::vector<double> brightness, saturation, contrast;  // color
    std::vector<int64_t> shift_h, shift_w;                 // translation: y[h, w] = x[h + shift_h, w + shift_w]
    std::vector<int64_t> cutout_h, cutout_w;               // cutout centres (cy, cx above)
};

// Draws parameters for a batch of n images of height x width: for each op in the policy's
// order, each of its parameters for all n samples (color: b, s, k; translation: dy, dx;
// cutout: cy, cx), so a seed reproduces a batch.
DiffAugParams draw_diffaug_params(const DiffAugPolicy& policy, int64_t n, int64_t height, int64_t width,
                                  data::RandomStream& random);

// x [N, C, H, W] float -> the augmented batch, same shape, dtype and device.
Tensor diff_augment(const Tensor& x, const DiffAugPolicy& policy, const DiffAugParams& params);
// The same with parameters drawn from `random`.
Tensor diff_augment(const Tensor& x, const DiffAugPolicy& policy, data::RandomStream& random);

}  // namespace mg
