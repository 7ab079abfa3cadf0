#include "models/imagegpt/imagegpt_net.h"

#include <cmath>
#include <string>

#include "core/autograd.h"
#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::models::imagegpt {

namespace {

// GPT-2's initialisation (minGPT's too): weights N(0, 0.02), biases 0; LayerNorm 1 and 0.
constexpr double kInitStd = 0.02;

std::shared_ptr<nn::Linear> gpt_linear(int64_t in, int64_t out) {
    auto l = std::make_shared<nn::Linear>(in, out);
    nn::init::normal_(l->weight, 0.0, kInitStd);
    nn::init::zeros_(l->bias);
    return l;
}

// [B, T, d] -> [B, H, T, d / H]: the heads as their own batch dim.
Tensor split_heads(const Tensor& x, int64_t heads) {
    const int64_t b = x.size(0), t = x.size(1), d = x.size(2);
    return x.reshape({b, t, heads, d / heads}).permute({0, 2, 1, 3});
}

// [B, H, T, d / H] -> [B, T, d].
Tensor merge_heads(const Tensor& x) {
    const int64_t b = x.size(0), h = x.size(1), t = x.size(2), dh = x.size(3);
    return x.permute({0, 2, 1, 3}).reshape({b, t, h * dh});
}

}  // namespace

ImageGptBlock::ImageGptBlock(int64_t width, int64_t heads) : width(width), heads(heads) {
    MG_CHECK(heads >= 1 && width % heads == 0, "imagegpt: width {} is not a multiple of heads {}", width, heads);
    ln1 = register_module("ln1", std::make_shared<nn::LayerNorm>(width));
    qkv = register_module("qkv", gpt_linear(width, 3 * width));
    proj = register_module("proj", gpt_linear(width, width));
    ln2 = register_module("ln2", std::make_shared<nn::LayerNorm>(width));
    fc1 = register_module("fc1", gpt_linear(width, 4 * width));
    fc2 = register_module("fc2", gpt_linear(4 * width, width));
}

Tensor ImageGptBlock::mlp(const Tensor& x) { return x + (*fc2)(gelu((*fc1)((*ln2)(x)))); }

Tensor ImageGptBlock::forward(const Tensor& x) {
    std::vector<Tensor> qkv_parts = chunk((*qkv)((*ln1)(x)), 3, 2);  // q, k, v [B, T, d]
    Tensor attended = causal_attention(split_heads(qkv_parts[0], heads), split_heads(qkv_parts[1], heads),
                                       split_heads(qkv_parts[2], heads));
    return mlp(x + (*proj)(merge_heads(attended)));
}

Tensor ImageGptBlock::step(const Tensor& x, KvCache& cache, int64_t pos) {
    std::vector<Tensor> qkv_parts = chunk((*qkv)((*ln1)(x)), 3, 2);  // [B, 1, d] each
    Tensor q = split_heads(qkv_parts[0], heads);                     // [B, H, 1, d / H]
    cache.k.slice(2, pos, pos + 1).copy_(split_heads(qkv_parts[1], heads));
    cache.v.slice(2, pos, pos + 1).copy_(split_heads(qkv_parts[2], heads));
    Tensor keys = cache.k.slice(2, 0, pos + 1), values = cache.v.slice(2, 0, pos + 1);  // [B, H, pos + 1, d / H]
    // One query row: its scores over the cache need no mask (every cached position is <= pos).
    const double scale = 1.0 / std::sqrt(double(width / heads));
    Tensor weights = softmax(matmul(q, keys.transpose(-2, -1)) * scale, -1);  // [B, H, 1, pos + 1]
    return mlp(x + (*proj)(merge_heads(matmul(weights, values))));
}

ImageGptNet::ImageGptNet(const ImageGptShape& s) : shape(s) {
    MG_CHECK(s.vocab >= 2 && s.max_len >= 1 && s.layers >= 0, "imagegpt: bad shape (vocab {}, max_len {}, layers {})",
             s.vocab, s.max_len, s.layers);
    token_embedding = register_module("token_embedding", std::make_shared<nn::Embedding>(s.vocab + 1, s.width));
    nn::init::normal_(token_embedding->weight, 0.0, kInitStd);
    position_embedding = register_parameter("position_embedding", zeros({s.max_len, s.width}));
    nn::init::normal_(position_embedding, 0.0, kInitStd);
    auto list = register_module("blocks", std::make_shared<nn::Module>());  // "blocks.0", "blocks.1", ...
    for (int64_t l = 0; l < s.layers; ++l)
        blocks.push_back(list->register_module(std::to_string(l), std::make_shared<ImageGptBlock>(s.width, s.heads)));
    final_norm = register_module("final_norm", std::make_shared<nn::LayerNorm>(s.width));
    head = register_module("head", gpt_linear(s.width, s.vocab));
}

Tensor ImageGptNet::embed(const Tensor& tokens) {
    MG_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.dtype() == DType::Int64,
             "imagegpt: expected int64 tokens [B, T], got {}", tokens.defined() ? tokens.shape() : Shape{});
    const int64_t t = tokens.size(1);
    MG_CHECK(t <= shape.max_len,
             "imagegpt position embedding: a sequence of {} tokens (tokens {}) is longer than the position table {}",
             t, tokens.shape(), position_embedding.shape());
    return (*token_embedding)(tokens) + position_embedding.slice(0, 0, t);
}

Tensor ImageGptNet::forward_embedded(const Tensor& x) {
    Tensor h = x;
    for (auto& block : blocks) h = (*block)(h);
    return (*head)((*final_norm)(h));
}

Tensor ImageGptNet::forward(const Tensor& tokens) { return forward_embedded(embed(tokens)); }

std::vector<KvCache> ImageGptNet::empty_caches(int64_t b) const {
    const TensorOptions on{DType::Float32, position_embedding.device()};
    std::vector<KvCache> caches;
    for (size_t l = 0; l < blocks.size(); ++l)
        caches.push_back({zeros({b, shape.heads, shape.max_len, shape.width / shape.heads}, on),
                          zeros({b, shape.heads, shape.max_len, shape.width / shape.heads}, on)});
    return caches;
}

Tensor ImageGptNet::step(const Tensor& token, int64_t pos, std::vector<KvCache>& caches) {
    MG_CHECK(pos >= 0 && pos < shape.max_len,
             "imagegpt position embedding: position {} is beyond the position table {}", pos,
             position_embedding.shape());
    MG_CHECK(caches.size() == blocks.size(), "imagegpt: {} caches for {} layers", caches.size(), blocks.size());
    Tensor x = ((*token_embedding)(token) + position_embedding.select(0, pos)).unsqueeze(1);  // [B, 1, d]
    for (size_t l = 0; l < blocks.size(); ++l) x = blocks[l]->step(x, caches[l], pos);
    return (*head)((*final_norm)(x)).squeeze(1);
}

Tensor ImageGptNet::shift_right(const Tensor& tokens) const {
    const int64_t b = tokens.size(0), t = tokens.size(1);
    Tensor start = full({b, 1}, double(shape.vocab), {DType::Int64, tokens.device()});
    return cat({start, tokens.slice(1, 0, t - 1)}, 1);
}

}  // namespace mg::models::imagegpt
