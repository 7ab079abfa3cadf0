// RandomStream: a sequential stream of random numbers for data work (shuffles,
// augmentations, toy data sets), on the same Philox-4x32-10 as the tensor generator.
//
// A stream is named by (seed, stream id) and owns its position: the shuffle of
// epoch 3 is stream (seed, 3) whatever was drawn before, so a loader's batches do
// not depend on thread timing, on prefetching, or on how far another stream got.
// It never touches the process-wide default_generator().
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "kernels/random.h"

namespace mg::data {

// SplitMix64's finaliser: spreads nearby integers (seeds, epochs) over all 64 bits.
inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

class RandomStream {
public:
    explicit RandomStream(uint64_t seed, uint64_t stream = 0) : key_(mix64(seed ^ mix64(stream))) {}

    uint32_t next_u32() {
        if (lane_ == 4) {
            block_ = kernels::Philox::block(key_, counter_++);
            lane_ = 0;
        }
        return block_[lane_++];
    }
    uint64_t next_u64() {
        uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
    // Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject). n > 0.
    uint64_t below(uint64_t n) {
        unsigned __int128 m = (unsigned __int128)next_u64() * n;
        uint64_t low = uint64_t(m);
        if (low < n) {
            uint64_t threshold = (0 - n) % n;
            while (low < threshold) {
                m = (unsigned __int128)next_u64() * n;
                low = uint64_t(m);
            }
        }
        return uint64_t(m >> 64);
    }
    bool bernoulli(double p) { return uniform() < p; }
    // Standard normal by Box-Muller; the second value of each pair is kept for the next call.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = 1.0 - uniform();  // (0, 1]: log is finite
        double u2 = uniform();
        double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * std::numbers::pi * u2;
        spare_ = r * std::sin(theta);
        has_spare_ = true;
        return r * std::cos(theta);
    }

private:
    uint64_t key_;
    uint64_t counter_ = 0;
    std::array<uint32_t, 4> block_{};
    int lane_ = 4;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

}  // namespace mg::data
