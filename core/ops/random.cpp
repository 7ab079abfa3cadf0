// Random ops on tensors.
#include "core/ops/dispatch.h"
#include "core/random.h"
#include "kernels/random.h"

namespace mg {

using namespace ops_detail;

Tensor dropout(const Tensor& x, double p, bool training) {
    check_floating("dropout", x);
    MG_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got {}", p);
    if (!training || p == 0.0) return x;
    if (p == 1.0) return x * zeros_like(x);
    // keep ~ Bernoulli(1 - p), scaled so that E[y] = x; the mask is a constant for autograd.
    Tensor keep = empty(x.shape(), {x.dtype(), x.device()});
    kernels::RandomArgs args;
    args.n = keep.numel();
    args.a = 1.0 - p;
    std::tie(args.seed, args.offset) = default_generator().reserve(args.n);
    kernels::random_bernoulli_table().get(x.device(), x.dtype())(args, keep.raw_data());
    return x * (keep * (1.0 / (1.0 - p)));
}

}  // namespace mg
