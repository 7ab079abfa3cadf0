// ImageGPT's network (Chen et al. 2020, "Generative Pretraining from Pixels"): a decoder-only
// transformer over the pixels of an image in raster order, as GPT-2 is over words.
//
//   tokens int64 [B, T]: the input sequence, a start token then the pixels' tokens 0 .. T-2
//     └─ token embedding (vocab + 1 rows, the last the start token) + position embedding [max_len, d]
//        layers x pre-LN block:  x = x + proj(causal_attention(LN1(x)))    (heads of d / heads)
//                                x = x + fc2(GELU(fc1(LN2(x))))            (hidden 4d)
//        final LN ─► head Linear(d -> vocab)                 logits [B, T, vocab]
// The logits at position t predict pixel t: they see the start token and pixels < t only.
//
// The KV cache (step()): position t's attention needs the keys and values of positions <= t
// in every layer, which do not change once computed. So a sampler that keeps them computes,
// per new token, only that token's q, k, v and one row of attention over the cache: O(t d)
// instead of recomputing every position before it (imagegpt_sampler.h).
#pragma once

#include <memory>
#include <vector>

#include "core/nn/embedding.h"
#include "core/nn/linear.h"
#include "core/nn/module.h"
#include "core/nn/norm.h"

namespace mg::models::imagegpt {

// vocab K: the pixel tokens (grey levels or palette colours; the start token is K); max_len:
// the position table's rows, the longest sequence; width d; heads; layers (blocks).
struct ImageGptShape {
    int64_t vocab = 256, max_len = 784, width = 64, heads = 4, layers = 4;
};

// One layer's cached keys and values: [B, H, max_len, d / H] each, positions < length filled.
struct KvCache {
    Tensor k, v;
};

class ImageGptBlock : public nn::Module {
public:
    ImageGptBlock(int64_t width, int64_t heads);
    // x [B, T, d] -> [B, T, d], every position attending causally.
    Tensor forward(const Tensor& x) override;
    // x [B, 1, d] at position `pos`: writes its k, v into the cache at pos and attends over
    // the cache's positions 0 .. pos. No autograd (the caller holds a NoGradGuard).
    Tensor step(const Tensor& x, KvCache& cache, int64_t pos);

    const int64_t width, heads;
    std::shared_ptr<nn::LayerNorm> ln1, ln2;
    std::shared_ptr<nn::Linear> qkv, proj, fc1, fc2;

private:
    // LN2 -> MLP -> residual.
    Tensor mlp(const Tensor& x);
};

class ImageGptNet : public nn::Module {
public:
    explicit ImageGptNet(const ImageGptShape& shape);

    // tokens int64 [B, T] (values in [0, vocab]: vocab is the start token) -> logits [B, T, vocab].
    Tensor forward(const Tensor& tokens) override;
    // The input vectors [B, T, d]: token + position embeddings. Throws when T > max_len.
    Tensor embed(const Tensor& tokens);
    // From the input vectors [B, T, d] to the logits [B, T, vocab] (what forward runs after embed).
    Tensor forward_embedded(const Tensor& x);

    // The KV-cache sampler's pieces: empty caches for a batch of b, and one position.
    std::vector<KvCache> empty_caches(int64_t b) const;
    // The input token int64 [B] at position pos (the caches hold positions < pos) -> the
    // logits [B, vocab] forward() gives at position pos: pixel pos's. No autograd.
    Tensor step(const Tensor& token, int64_t pos, std::vector<KvCache>& caches);

    // The input sequence of pixel tokens [B, T]: the start token, then tokens 0 .. T-2.
    Tensor shift_right(const Tensor& tokens) const;

    const ImageGptShape shape;
    std::shared_ptr<nn::Embedding> token_embedding;
    Tensor position_embedding;  // [max_len, d]
    std::vector<std::shared_ptr<ImageGptBlock>> blocks;
    std::shared_ptr<nn::LayerNorm> final_norm;
    std::shared_ptr<nn::Linear> head;
};

}  // namespace mg::models::imagegpt
