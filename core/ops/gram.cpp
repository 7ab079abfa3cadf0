#include "core/ops/gram.h"

#include "core/ops.h"

namespace mg {

Tensor gram_matrix(const Tensor& features) {
    MG_CHECK(features.dim() == 4, "gram_matrix: expected features [N, C, H, W], got {}", features.shape());
    MG_CHECK(features.dtype() == DType::Float32 || features.dtype() == DType::Float64,
             "gram_matrix: expected float32 or float64, got {}", features.dtype());
    const int64_t n = features.size(0), c = features.size(1), positions = features.size(2) * features.size(3);
    MG_CHECK(c > 0 && positions > 0, "gram_matrix: empty features {}", features.shape());
    Tensor flat = features.reshape({n, c, positions});  // [N, C, HW]
    return div(matmul(flat, flat.transpose(1, 2)), double(c * positions));
}

}  // namespace mg
