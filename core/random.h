// The random generator: a Philox-4x32-10 key (the seed) and a counter offset.
//
// Every random op reserves a range of counters and passes (seed, offset) to its
// kernel, which computes element i from counter offset + i/4 alone. So results
// do not depend on threads or device, and the whole state is two integers: a
// checkpoint that stores them resumes the exact random stream.
#pragma once

#include <cstdint>
#include <utility>

namespace mg {

struct GeneratorState {
    uint64_t seed = 0;
    uint64_t offset = 0;
};

class Generator {
public:
    explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}
    void manual_seed(uint64_t seed) { state_ = {seed, 0}; }
    // Reserves counters for n elements; returns the (seed, offset) to draw them with.
    std::pair<uint64_t, uint64_t> reserve(int64_t n) {
        uint64_t start = state_.offset;
        state_.offset += uint64_t((n + 3) / 4);
        return {state_.seed, start};
    }
    GeneratorState state() const { return state_; }
    void set_state(GeneratorState s) { state_ = s; }

private:
    GeneratorState state_;
};

// The process-wide generator that rand/randn/dropout/shuffles use.
Generator& default_generator();
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace mg
