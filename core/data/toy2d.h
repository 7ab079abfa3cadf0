// Toy 2-D data sets for GANs small enough to watch: every point is a float32 pair.
//
//   ring      8 Gaussians, means evenly on a circle of radius 2 (mode k at angle 2*pi*k/8),
//             std 0.02 — the gan2d workload (docs/workloads.md)
//   grid      25 Gaussians, means on the 5x5 grid {-4,-2,0,2,4}^2, std 0.05
//   swissroll a noisy spiral, t = 1.5*pi*(1 + 2u), (t cos t, t sin t)/7.5 + N(0, (0.25/7.5)^2);
//             no modes
//
// Each point picks its mode uniformly at random. Sampling is seeded and uses its own
// RandomStream, so the same (kind, n, seed) gives the same points on any machine.
// The mode centres and std are exposed for mode-coverage metrics.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace mg::data {

enum class Toy2dKind { Ring, Grid, SwissRoll };

Toy2dKind parse_toy2d(std::string_view name);  // "ring" | "grid" | "swissroll"
std::string_view toy2d_name(Toy2dKind kind);

struct Toy2dSet {
    Tensor points;        // float32 [n, 2]
    Tensor centres;       // float32 [modes, 2]; [0, 2] for the swiss roll
    double mode_std = 0;  // std of each Gaussian mode (0 for the swiss roll)
};

Toy2dSet make_toy2d(Toy2dKind kind, int64_t n, uint64_t seed);

// The pieces, with their parameters.
Tensor ring_centres(int64_t modes = 8, double radius = 2.0);                 // float32 [modes, 2]
Tensor grid_centres(int64_t side = 5, double spacing = 2.0);                 // float32 [side*side, 2]
// n points: each a centre (chosen uniformly) plus N(0, std^2) per coordinate.  -> float32 [n, 2]
Tensor sample_gaussian_mixture(const Tensor& centres, double std, int64_t n, uint64_t seed);
Tensor sample_swiss_roll(int64_t n, uint64_t seed, double noise = 0.25, double scale = 1.0 / 7.5);  // [n, 2]

}  // namespace mg::data
