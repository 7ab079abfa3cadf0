// The history of generated images a CycleGAN discriminator trains on (Shrivastava et al. 2017,
// as Zhu et al. 2017 use it, section 4): D is updated on a mix of the newest fakes and fakes
// from earlier steps, so that it keeps rejecting what G produced before and G cannot win by
// cycling back to an old mode D has since forgotten.
//
// query(fakes), per image i of the batch, in order (the authors' ImagePool):
//   while fewer than `capacity` images are stored: store fakes[i], return it;
//   once full, draw u in [0, 1): u < 0.5: return a stored image chosen uniformly and store
//   fakes[i] in its place; else return fakes[i] and store nothing.
// The draws come from the caller's RandomStream, so a run reproduces. The stored images and
// their count are buffers: a checkpoint saves the pool and resuming restores it exactly.
#pragma once

#include "core/data/random_stream.h"
#include "core/nn/module.h"

namespace mg::models {

class ImagePool : public nn::Module {
public:
    // capacity 0: no history, query returns the fakes themselves.
    ImagePool(int64_t capacity, int64_t channels, int64_t size);
    // fakes [B, C, S, S], no autograd history -> [B, C, S, S], a new tensor.
    Tensor query(const Tensor& fakes, data::RandomStream& rng);
    int64_t capacity() const { return capacity_; }
    int64_t stored() const;  // images stored so far, at most capacity()

private:
    int64_t capacity_;
    Tensor images_;  // [capacity, C, S, S] float32 (a [1, C, S, S] placeholder when capacity is 0)
    Tensor count_;   // int64 [1]: the stored images are images_[0 .. count)
};

}  // namespace mg::models
