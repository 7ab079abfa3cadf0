// Philox random kernels. The CPU variant is the specification that the CUDA
// kernels reproduce bit for bit:
//
//   block b = philox(seed, counter = offset + b) -> lanes x0..x3, for elements 4b..4b+3
//   float32 uniform:  (x_j >> 8) * 2^-24                                   [0, 1), 24 bits
//   float64 uniform:  (((x_j << 32) | y_j) >> 11) * 2^-53, with y = philox(seed ^ K2, same counter)
//                     (the block and the uniforms: kernels/philox.h, shared with the GPU)
//   normal:           Box-Muller on lane pairs (0,1), (2,3):
//                     r = sqrt(-2 ln(1 - u0)), z0 = r cos(2 pi u1), z1 = r sin(2 pi u1)
//   bernoulli(p):     float32 uniform < p
// Element i depends on its block alone, so threads split blocks freely.
#include <cmath>

#include "kernels/random.h"

namespace mg::kernels {
namespace {

// Runs `make(u, v)` per block, turning four uniforms into four values.
template <class T, class Make> void draw(const RandomArgs& a, void* out, Make make) {
    T* o = static_cast<T*>(out);
    int64_t blocks = (a.n + 3) / 4;
#pragma omp parallel for schedule(static) if (blocks > 16384)
    for (int64_t b = 0; b < blocks; ++b) {
        double u[4], v[4];
        Philox::uniforms<T>(a.seed, a.offset + uint64_t(b), u);
        make(u, v);
        for (int64_t j = 0; j < 4 && 4 * b + j < a.n; ++j) o[4 * b + j] = T(v[j]);
    }
}

template <class T> void uniform(const RandomArgs& a, void* out) {
    double lo = a.a, span = a.b - a.a;
    draw<T>(a, out, [=](const double* u, double* v) {
        for (int j = 0; j < 4; ++j) v[j] = lo + span * u[j];
    });
}

template <class T> void normal(const RandomArgs& a, void* out) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    double mean = a.a, stddev = a.b;
    draw<T>(a, out, [=](const double* u, double* v) {
        for (int p = 0; p < 2; ++p) {
            double r = std::sqrt(-2.0 * std::log(1.0 - u[2 * p]));  // 1-u in (0, 1]: never log(0)
            v[2 * p] = mean + stddev * r * std::cos(kTwoPi * u[2 * p + 1]);
            v[2 * p + 1] = mean + stddev * r * std::sin(kTwoPi * u[2 * p + 1]);
        }
    });
}

template <class T> void bernoulli(const RandomArgs& a, void* out) {
    double p = a.a;
    T* o = static_cast<T*>(out);
    int64_t blocks = (a.n + 3) / 4;
#pragma omp parallel for schedule(static) if (blocks > 16384)
    for (int64_t b = 0; b < blocks; ++b) {
        double u[4];
        Philox::uniforms<float>(a.seed, a.offset + uint64_t(b), u);
        for (int64_t j = 0; j < 4 && 4 * b + j < a.n; ++j) o[4 * b + j] = u[j] < p ? T(1) : T(0);
    }
}

}  // namespace

void register_cpu_random() {
    random_uniform_table().add("reference", Device::CPU, DType::Float32, &uniform<float>, 0, "Philox-4x32-10, 24-bit uniforms");
    random_uniform_table().add("reference", Device::CPU, DType::Float64, &uniform<double>, 0, "Philox-4x32-10, 53-bit uniforms");
    random_normal_table().add("reference", Device::CPU, DType::Float32, &normal<float>, 0, "Philox + Box-Muller");
    random_normal_table().add("reference", Device::CPU, DType::Float64, &normal<double>, 0, "Philox + Box-Muller");
    random_bernoulli_table().add("reference", Device::CPU, DType::Float32, &bernoulli<float>, 0, "Philox, u < p");
    random_bernoulli_table().add("reference", Device::CPU, DType::Float64, &bernoulli<double>, 0, "Philox, u < p");
}

}  // namespace mg::kernels
