// The Gram matrix of feature maps, the statistic neural style transfer matches (Gatys et al.
// 2016). Composed of matmul and views (core/ops/gram.cpp), so gradients of any order come
// from matmul's.
//
//   features [N, C, H, W] float -> gram [N, C, C],  gram[n, i, j] = sum_p F[n,i,p] F[n,j,p] / (C*H*W)
//
// p runs over the H*W positions: the Gram matrix keeps which channels fire together and how
// strongly, and forgets where. Dividing by C*H*W makes it comparable across layers and sizes.
#pragma once

#include "core/tensor.h"

namespace mg {

// [N, C, H, W] -> [N, C, C]: each image's channel correlations sum_p F[i,p] F[j,p] / (C*H*W).
Tensor gram_matrix(const Tensor& features);

}  // namespace mg
