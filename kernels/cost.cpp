#include "kernels/cost.h"

namespace mg::kernels {

namespace {

double size_of(DType t) { return double(dtype_size(t)); }

}  // namespace

Cost gemm_cost(const GemmArgs& g, DType t) {
    const double m = double(g.m), n = double(g.n), k = double(g.k), batch = double(g.batch);
    const double c_passes = g.beta != 0.0 ? 2.0 : 1.0;
    return {2.0 * m * n * k * batch, (m * k + k * n + c_passes * m * n) * batch * size_of(t)};
}

Cost conv2d_cost(const Conv2dShape& s, DType t) {
    const double groups = double(s.groups > 0 ? s.groups : 1);
    const double x = double(s.n * s.c_in * s.h * s.w), y = double(s.n * s.c_out * s.oh * s.ow);
    const double w = double(s.c_out) * (double(s.c_in) / groups) * double(s.kh * s.kw);
    const double flop = 2.0 * double(s.n * s.c_out * s.oh * s.ow) * (double(s.c_in) / groups) * double(s.kh * s.kw);
    return {flop, (x + w + y) * size_of(t)};
}

Cost batch_norm_forward_cost(const BatchNormForwardArgs& a, DType t) {
    const double n = double(a.shape.n * a.shape.c * a.shape.hw);
    return {(a.training ? 6.0 : 3.0) * n, (a.training ? 3.0 : 2.0) * n * size_of(t)};
}

Cost batch_norm_backward_cost(const BatchNormBackwardArgs& a, DType t) {
    const double n = double(a.shape.n * a.shape.c * a.shape.hw);
    return {10.0 * n, (a.grad_x ? 5.0 : 2.0) * n * size_of(t)};
}

Cost elementwise_cost(const Iter& it, DType t, int operands) {
    const double n = double(it.numel);
    return {n, double(operands) * n * size_of(t)};
}

Cost reduce_cost(const ReduceArgs& r, DType t) {
    const double out = double(r.out_numel), in = out * double(r.red_numel);
    return {in, (in + out) * size_of(t)};
}

Cost softmax_forward_cost(const SoftmaxShape& s, DType t, bool) {
    const double n = double(s.outer * s.classes * s.inner);
    return {5.0 * n, 2.0 * n * size_of(t)};
}

Cost softmax_backward_cost(const SoftmaxShape& s, DType t, bool log) {
    const double n = double(s.outer * s.classes * s.inner);
    return {(log ? 4.0 : 5.0) * n, 3.0 * n * size_of(t)};
}

Cost cross_entropy_forward_cost(const SoftmaxShape& s, DType t) {
    const double n = double(s.outer * s.classes * s.inner);
    return {4.0 * n, n * size_of(t)};
}

Cost cross_entropy_backward_cost(const SoftmaxShape& s, DType t) {
    const double n = double(s.outer * s.classes * s.inner);
    return {4.0 * n, 2.0 * n * size_of(t)};
}

Cost bias_act_forward_cost(const BiasActShape& s, DType t) {
    const double n = double(s.outer * s.channels * s.inner);
    return {2.0 * n, 2.0 * n * size_of(t)};
}

Cost bias_act_backward_cost(const BiasActShape& s, DType t) {
    const double n = double(s.outer * s.channels * s.inner);
    return {2.0 * n, 3.0 * n * size_of(t)};
}

Cost adam_cost(int64_t n, DType t, const AdamHyper& h, bool amsgrad) {
    double per_element = 13.0 + (amsgrad ? 1.0 : 0.0);
    if (h.weight_decay != 0.0) per_element += h.decoupled ? 1.0 : 2.0;
    const double arrays = amsgrad ? 9.0 : 7.0;  // 4 (5) read, 3 (4) written
    return {per_element * double(n), arrays * double(n) * size_of(t)};
}

Cost adam_multi_cost(const AdamTensorList& list, DType t, const AdamHyper& h) {
    Cost total{0, 0};
    for (int64_t k = 0; k < list.count; ++k) {
        const bool amsgrad = list.max_exp_avg_sq != nullptr && list.max_exp_avg_sq[k] != nullptr;
        const Cost c = adam_cost(list.numels[k], t, h, amsgrad);
        total.flop += c.flop;
        total.bytes += c.bytes;
    }
    return total;
}

}  // namespace mg::kernels
