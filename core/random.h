// The random generator: a Philox-4x32-10 key (the seed) and a counter offset.
//
// Every random op reserves a range of counters and passes (seed, offset) to its
// kernel, which computes element i from counter offset + i/4 alone. So results
// do not depend on threads or device, and the whole state is two integers: a
// checkpoint that stores them resumes the exact random stream.
//
// Data-parallel training shards the generator by rank (set_shard): a draw of n elements on
// each of W ranks takes the counters one process takes for a draw of W * n, rank r the
// r-th block, and every rank's offset advances as that process's does. So W ranks drawing
// their part of a batch see the numbers one process draws for the whole batch (when each
// part's size is a multiple of 4), and the state stays (seed, offset) at any world size.
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
        const uint64_t blocks = uint64_t((n + 3) / 4);
        uint64_t start = state_.offset + uint64_t(shard_.rank) * blocks;
        state_.offset += uint64_t(shard_.world) * blocks;
        return {state_.seed, start};
    }
    GeneratorState state() const { return state_; }
    void set_state(GeneratorState s) { state_ = s; }

    struct Shard {
        int rank = 0, world = 1;
    };
    void set_shard(Shard s) { shard_ = s; }
    Shard shard() const { return shard_; }

private:
    GeneratorState state_;
    Shard shard_;
};

// The process-wide generator that rand/randn/dropout/shuffles use.
Generator& default_generator();
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace mg
