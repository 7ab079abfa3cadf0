// Sample-quality measures that need no classifier.
#pragma once

#include "core/tensor.h"

namespace mg::models {

// Mode coverage of 2-D samples against a Gaussian mixture (workloads.md, gan2d): a mode
// counts as covered when at least `min_fraction` of the samples lie within 3 std of its
// centre; hq_fraction is the share of samples within 3 std of any centre.
struct ModeCoverage {
    int64_t modes_covered = 0;
    int64_t modes = 0;
    double hq_fraction = 0;
};
ModeCoverage mode_coverage(const Tensor& samples, const Tensor& centres, double std, double min_fraction = 0.01);

// Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) of images a and b, both
// [N, C, H, W] float with values spanning `data_range` (1 for [0, 1]), H and W >= 11: per
// image and channel, the mean over every valid 11x11 window position of
//   SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)),
// the moments weighted by a normalised Gaussian (sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2,
// no N/(N-1) correction: Wang et al.'s ssim_index.m, and skimage's structural_similarity with
// gaussian_weights=True, use_sample_covariance=False. Returns one value per image [N]
// (float64), the mean over its channels.
Tensor ssim(const Tensor& a, const Tensor& b, double data_range = 1.0);

// Peak signal-to-noise ratio per image [N] (float64), 10 log10(L^2 / mean squared error); an
// exact match is capped at 100 dB.
Tensor psnr(const Tensor& a, const Tensor& b, double data_range = 1.0);

// Colourfulness (Hasler & Suesstrunk 2003) of RGB images [N, 3, H, W] float in [0, 1], per
// image [N] (float64), on the 0..255 scale of the paper: with rg = R - G, yb = (R + G) / 2 - B
// over the pixels, M = sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)
// (population standard deviations). 0 for grey; the paper calls 33 "moderately", 59
// "quite", 82 "highly" colourful.
Tensor colorfulness(const Tensor& rgb);

}  // namespace mg::models
