// The exact likelihood of the autoregressive image models (pixelcnn, row-lstm), over a set
// of images in chunks: what each model's Likelihood::likelihood reports.
#pragma once

#include <functional>

#include "models/capabilities.h"

namespace mg::models::pixelcnn {

// nats_of(x) is the summed negative log-likelihood in nats of the images x [b, C, H, W], a
// chunk of at most eval_batch of `images`. Returns {"nll_nats" (mean per image),
// "nll_bits_per_dim", "nll_nats_per_dim" (over C*H*W)}; reports progress per chunk.
Metrics chunked_likelihood(const Tensor& images, int64_t eval_batch, const Likelihood::Options& options,
                           const std::function<double(const Tensor& x)>& nats_of);

}  // namespace mg::models::pixelcnn
