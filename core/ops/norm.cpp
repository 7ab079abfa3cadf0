// Normalisation and softmax, composed from differentiable ops (so double
// backward works; a fused kernel can replace the forward without changing this).
//   batch_norm:  y = (x - mean_B) / sqrt(var_B + eps) * weight + bias,  stats over all dims but 1
//   layer_norm:  the same with stats over the trailing normalized_shape dims
//   softmax:     e^(x - max) / sum e^(x - max);   log_softmax: x - logsumexp(x)
#include "core/ops/dispatch.h"

namespace mg {

using namespace ops_detail;

// [C] -> [1, C, 1, ...] to broadcast against x [N, C, ...].
static Tensor per_channel(const Tensor& v, int ndim) {
    Shape s = Shape::filled(ndim, 1);
    s[1] = v.numel();
    return v.reshape(s);
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    check_floating("batch_norm", x);
    MG_CHECK(x.dim() >= 2, "batch_norm: input must be [N, C, ...], got {}", x.shape());
    const int64_t c = x.shape()[1];
    for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
        if (t->defined())
            MG_CHECK(t->dim() == 1 && t->shape()[0] == c, "batch_norm: parameter {} does not match {} channels of {}",
                     t->shape(), c, x.shape());
    std::vector<int64_t> axes;
    for (int d = 0; d < x.dim(); ++d)
        if (d != 1) axes.push_back(d);
    const int64_t count = x.numel() / std::max<int64_t>(c, 1);

    Tensor mean_, var_;
    if (training) {
        MG_CHECK(count > 1, "batch_norm: training needs more than one value per channel, got input {}", x.shape());
        mean_ = mean(x, axes, true);
        var_ = var(x, axes, /*correction=*/0, true);
        if (running_mean.defined() && running_var.defined()) {
            autograd::NoGradGuard no_grad;
            Tensor m = mean_.detach().reshape(Shape{c}), v = var_.detach().reshape(Shape{c});
            Tensor unbiased = mul(v, double(count) / double(count - 1));
            Tensor(running_mean).copy_(add(mul(running_mean, 1.0 - momentum), mul(m, momentum)));
            Tensor(running_var).copy_(add(mul(running_var, 1.0 - momentum), mul(unbiased, momentum)));
        }
    } else {
        MG_CHECK(running_mean.defined() && running_var.defined(),
                 "batch_norm: evaluation mode needs running_mean and running_var");
        mean_ = per_channel(running_mean, x.dim());
        var_ = per_channel(running_var, x.dim());
    }
    Tensor y = mul(sub(x, mean_), pow(add(var_, eps), -0.5));
    if (weight.defined()) y = mul(y, per_channel(weight, x.dim()));
    if (bias.defined()) y = add(y, per_channel(bias, x.dim()));
    return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
    check_floating("layer_norm", x);
    const int k = normalized_shape.size();
    MG_CHECK(k >= 1 && x.dim() >= k, "layer_norm: normalized_shape {} does not fit input {}", normalized_shape,
             x.shape());
    for (int i = 0; i < k; ++i)
        MG_CHECK(x.shape()[x.dim() - k + i] == normalized_shape[i],
                 "layer_norm: input {} does not end with normalized_shape {}", x.shape(), normalized_shape);
    std::vector<int64_t> axes;
    for (int d = x.dim() - k; d < x.dim(); ++d) axes.push_back(d);
    Tensor mean_ = mean(x, axes, true);
    Tensor var_ = var(x, axes, 0, true);
    Tensor y = mul(sub(x, mean_), pow(add(var_, eps), -0.5));
    if (weight.defined()) {
        MG_CHECK(weight.shape() == normalized_shape, "layer_norm: weight {} must have shape {}", weight.shape(),
                 normalized_shape);
        y = mul(y, weight);
    }
    if (bias.defined()) {
        MG_CHECK(bias.shape() == normalized_shape, "layer_norm: bias {} must have shape {}", bias.shape(),
                 normalized_shape);
        y = add(y, bias);
    }
    return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
    check_floating("softmax", x);
    Tensor shifted = sub(x, amax(x.detach(), {dim}, true));
    Tensor e = exp(shifted);
    return div(e, sum(e, {dim}, true));
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
    check_floating("log_softmax", x);
    return sub(x, logsumexp(x, dim, true));
}

}  // namespace mg
