// Drawing token sequences from an ImageGPT network, token by token in raster order, two ways:
//
//   naive   every token runs the whole network over the sequence so far (the start token
//           and tokens 0 .. p-1) and reads the logits of its last position: position p costs
//           p positions of every layer, so T tokens cost ~T^2 / 2 positions (and the
//           attention ~T^3 / 6 query-key products).
//   cached  every layer keeps the keys and values of the positions done (the KV cache,
//           imagegpt_net.h); token p computes only its own position in every layer and
//           attends over the p + 1 cached keys: T positions in all (T^2 / 2 products).
//
// Both draw token p with pixelcnn::draw_level (the inverse CDF of the float64 softmax of
// its logits at one float64 uniform given by the caller), so the same seed gives the same
// tokens: their logits agree to float32 rounding, and a draw could differ only where a
// uniform falls within that distance of a CDF step (the tests check it with fixed seeds).
#pragma once

#include "models/imagegpt/imagegpt_net.h"
#include "models/pixelcnn/pixelcnn_sampler.h"

namespace mg::models::imagegpt {

// pixelcnn's two kinds, by the same names: "naive" | "cached".
using TokenSampler = pixelcnn::SamplerKind;

// Fills every token at index >= first of `tokens` and returns the result.
//   tokens    int64 [N, T] in [0, vocab): indices < first are the context, the rest ignored
//   uniforms  float64 [N, T] in [0, 1): token p's draw (the context's are unused)
//   returns   int64 [N, T] on the CPU
// Runs without a graph (the network has no dropout or batch norm: its mode does not matter).
// Reports each token drawn through report_work (models/progress.h).
Tensor sample_tokens(ImageGptNet& net, const Tensor& tokens, int64_t first, const Tensor& uniforms,
                     TokenSampler kind);

}  // namespace mg::models::imagegpt
