// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
// Parameters without a gradient are skipped; gradients are changed in place.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace mg::optim {

// Scales every gradient by max_norm / (total + 1e-6) when that is below 1, where total
// is the p-norm of all gradients taken together (norm_type = INFINITY: the largest |g|).
// Returns total, measured before clipping. With error_if_nonfinite, a NaN or infinite
// total throws instead of scaling.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace mg::optim
