// Averaging gradients over the ranks of a Collective, in buckets: the gradients of one
// dtype are packed, in order, into flat buffers of at most `bucket_bytes` (one gradient
// larger than that is a bucket of its own), each bucket is all-reduced once, and the
// averages are copied back in place. Every rank must pass the same list (the same
// shapes, the same undefined entries), which the same model code on every rank does.
#pragma once

#include <cstdint>
#include <vector>

#include "core/dist/collective.h"

namespace mg::dist {

constexpr int64_t kDefaultBucketBytes = int64_t(25) << 20;  // PyTorch DDP's default

void average_gradients(Collective& world, const std::vector<Tensor>& grads,
                       int64_t bucket_bytes = kDefaultBucketBytes);

// One bucket's transport buffer: the defined `grads` (one dtype) one after another, flat.
Tensor pack_gradients(const std::vector<Tensor>& grads);
// Copies `flat` (as pack_gradients laid it out) back into the gradients, in place.
void unpack_gradients(const Tensor& flat, const std::vector<Tensor>& grads);

}  // namespace mg::dist
