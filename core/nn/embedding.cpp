#include "core/nn/embedding.h"

#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::nn {

Embedding::Embedding(int64_t num, int64_t dim) : num_embeddings(num), embedding_dim(dim) {
    MG_CHECK(num > 0 && dim > 0, "Embedding: sizes must be positive, got num_embeddings={}, embedding_dim={}", num,
             dim);
    weight = register_parameter("weight", empty({num, dim}));
    reset_parameters();
}

void Embedding::reset_parameters() { init::normal_(weight); }

Tensor Embedding::forward(const Tensor& indices) { return embedding(indices, weight); }

std::string Embedding::extra_repr() const { return fmt::format("{}, {}", num_embeddings, embedding_dim); }

}  // namespace mg::nn
