// Toy 2-D data: Gaussian mixtures on a ring or a grid, and the swiss roll.
#include "core/data/toy2d.h"

#include <cmath>
#include <numbers>
#include <utility>
#include <vector>

#include "core/data/random_stream.h"

namespace mg::data {

// Each set's name; parse_toy2d also takes "swiss_roll".
constexpr std::pair<Toy2dKind, std::string_view> kToy2dNames[] = {
    {Toy2dKind::Ring, "ring"}, {Toy2dKind::Grid, "grid"}, {Toy2dKind::SwissRoll, "swissroll"}};

Toy2dKind parse_toy2d(std::string_view name) {
    if (name == "swiss_roll") return Toy2dKind::SwissRoll;
    for (const auto& [kind, known] : kToy2dNames)
        if (name == known) return kind;
    MG_FAIL("toy2d: unknown data set '{}', expected 'ring', 'grid' or 'swissroll'", name);
}

std::string_view toy2d_name(Toy2dKind kind) {
    for (const auto& [known, name] : kToy2dNames)
        if (kind == known) return name;
    return "?";
}

Tensor ring_centres(int64_t modes, double radius) {
    MG_CHECK(modes >= 1, "ring_centres: need at least one mode, got {}", modes);
    std::vector<float> c(size_t(2 * modes));
    for (int64_t k = 0; k < modes; ++k) {
        double angle = 2.0 * std::numbers::pi * double(k) / double(modes);
        c[size_t(2 * k)] = float(radius * std::cos(angle));
        c[size_t(2 * k + 1)] = float(radius * std::sin(angle));
    }
    return from_vector(c, Shape{modes, 2});
}

Tensor grid_centres(int64_t side, double spacing) {
    MG_CHECK(side >= 1, "grid_centres: need a side of at least 1, got {}", side);
    std::vector<float> c;
    const double half = double(side - 1) / 2.0;  // centred on the origin
    for (int64_t i = 0; i < side; ++i)
        for (int64_t j = 0; j < side; ++j) {
            c.push_back(float((double(i) - half) * spacing));
            c.push_back(float((double(j) - half) * spacing));
        }
    return from_vector(c, Shape{side * side, 2});
}

Tensor sample_gaussian_mixture(const Tensor& centres, double std, int64_t n, uint64_t seed) {
    MG_CHECK(centres.defined() && centres.dim() == 2 && centres.size(1) == 2 && centres.size(0) >= 1,
             "sample_gaussian_mixture: centres must be [modes >= 1, 2], got {}",
             centres.defined() ? centres.shape().str() : "undefined");
    MG_CHECK(n >= 0 && std >= 0, "sample_gaussian_mixture: need n >= 0 and std >= 0, got n = {}, std = {}", n, std);
    std::vector<double> c = centres.to_vector<double>();
    const uint64_t modes = uint64_t(centres.size(0));
    RandomStream rng(seed);
    std::vector<float> p(size_t(2 * n));
    for (int64_t i = 0; i < n; ++i) {
        uint64_t k = rng.below(modes);
        double dx = rng.normal(), dy = rng.normal();
        p[size_t(2 * i)] = float(c[2 * k] + std * dx);
        p[size_t(2 * i + 1)] = float(c[2 * k + 1] + std * dy);
    }
    return from_vector(p, Shape{n, 2});
}

Tensor sample_swiss_roll(int64_t n, uint64_t seed, double noise, double scale) {
    MG_CHECK(n >= 0 && noise >= 0, "sample_swiss_roll: need n >= 0 and noise >= 0, got n = {}, noise = {}", n, noise);
    RandomStream rng(seed);
    std::vector<float> p(size_t(2 * n));
    for (int64_t i = 0; i < n; ++i) {
        double t = 1.5 * std::numbers::pi * (1.0 + 2.0 * rng.uniform());
        double dx = rng.normal(), dy = rng.normal();
        p[size_t(2 * i)] = float((t * std::cos(t) + noise * dx) * scale);
        p[size_t(2 * i + 1)] = float((t * std::sin(t) + noise * dy) * scale);
    }
    return from_vector(p, Shape{n, 2});
}

Toy2dSet make_toy2d(Toy2dKind kind, int64_t n, uint64_t seed) {
    Toy2dSet set;
    switch (kind) {
        case Toy2dKind::Ring:
            set.centres = ring_centres(8, 2.0);
            set.mode_std = 0.02;
            break;
        case Toy2dKind::Grid:
            set.centres = grid_centres(5, 2.0);
            set.mode_std = 0.05;
            break;
        case Toy2dKind::SwissRoll:
            set.centres = zeros(Shape{0, 2});
            set.points = sample_swiss_roll(n, seed);
            return set;
    }
    set.points = sample_gaussian_mixture(set.centres, set.mode_std, n, seed);
    return set;
}

}  // namespace mg::data
