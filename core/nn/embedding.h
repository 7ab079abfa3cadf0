// Embedding: a lookup table.      indices int64 [...] -> [..., embedding_dim]
#pragma once

#include "core/nn/module.h"

namespace mg::nn {

class Embedding : public Module {
public:
    Embedding(int64_t num_embeddings, int64_t embedding_dim);
    Tensor forward(const Tensor& indices) override;
    std::string extra_repr() const override;
    void reset_parameters();  // N(0, 1), as PyTorch

    int64_t num_embeddings, embedding_dim;
    Tensor weight;  // [num_embeddings, embedding_dim]
};

}  // namespace mg::nn
