// Normalisation and softmax.
//   batch_norm:  y = (x - mean_B) / sqrt(var_B + eps) * weight + bias,  stats over all dims but 1
//   batch_norm_act: relu(batch_norm(x)) or leaky_relu(batch_norm(x), slope), one node
//   layer_norm:  the same with stats over the trailing normalized_shape dims
//   softmax:     e^(x - max) / sum e^(x - max);   log_softmax: x - logsumexp(x)
//
// On the CPU, batch_norm (training, or any mode without gradients), softmax and log_softmax
// run fused kernels (kernels/batch_norm.h, kernels/softmax.h): one node each, whose backward
// is a fused kernel too. A backward that must itself be differentiable (create_graph, so
// grad mode is on inside it) uses the same formulas written with differentiable ops instead,
// so second derivatives (gradgradcheck, WGAN-GP) are unchanged. Other devices, and
// batch_norm in eval mode with gradients, use the composite forms below throughout.
// batch_norm_act runs the same way through the batch_norm_act kernels, its backward masking g
// with the output's sign (slope >= 0: y > 0 exactly where the normalised value is), and is the
// two ops composed where batch_norm would not run fused.
#include <cmath>

#include "core/ops/batch_norm_act.h"
#include "core/ops/dispatch.h"
#include "kernels/batch_norm.h"
#include "kernels/softmax.h"

namespace mg {

using namespace ops_detail;
namespace K = kernels;

// [C] -> [1, C, 1, ...] to broadcast against x [N, C, ...].
static Tensor per_channel(const Tensor& v, int ndim) {
    Shape s = Shape::filled(ndim, 1);
    s[1] = v.numel();
    return v.reshape(s);
}

// All but dim 1: the axes of the per-channel statistics.
static std::vector<int64_t> non_channel_axes(const Tensor& x) {
    std::vector<int64_t> axes;
    for (int d = 0; d < x.dim(); ++d)
        if (d != 1) axes.push_back(d);
    return axes;
}

// d/d(x, weight, bias) of training-mode batch_norm, written with differentiable ops (the
// fused backward's formula): the backward of the backward exists.
//   xhat = (x - mean) * invstd,  invstd = (var + eps)^-1/2,  g_xhat = g * weight
//   gx = invstd * (g_xhat - mean(g_xhat) - xhat * mean(g_xhat * xhat))
//   gw = sum(g * xhat)           gb = sum(g)             (over all dims but 1)
static Grads batch_norm_backward_composite(const Tensor& g, const Tensor& x, const Tensor& weight, bool with_bias,
                                           double eps) {
    const std::vector<int64_t> axes = non_channel_axes(x);
    const int64_t c = x.shape()[1];
    Tensor centered = x - mean(x, axes, true);
    Tensor invstd = pow(mean(square(centered), axes, true) + eps, -0.5);
    Tensor xhat = centered * invstd;
    Tensor g_xhat = weight.defined() ? g * per_channel(weight, x.dim()) : g;
    Tensor gx = invstd * (g_xhat - mean(g_xhat, axes, true) - xhat * mean(g_xhat * xhat, axes, true));
    Tensor gw = weight.defined() ? sum(g * xhat, axes).reshape(Shape{c}) : Tensor();
    Tensor gb = with_bias ? sum(g, axes).reshape(Shape{c}) : Tensor();
    return {gx, gw, gb};
}

// The fused kernels (table) need every given tensor on x's device, of x's dtype, and dense [C] vectors.
static bool batch_norm_fusable(const K::OpTableBase& table, const Tensor& x,
                               std::initializer_list<const Tensor*> params) {
    if (!table.has_kernel(x.device(), x.dtype())) return false;  // else a composition
    for (const Tensor* t : params)
        if (t->defined() && (t->dtype() != x.dtype() || t->device() != x.device() || !t->is_contiguous()))
            return false;
    return true;
}

// A kernel argument: t's data, or null for an undefined (optional) tensor.
static void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// batch_norm's or (act not None) batch_norm_act's node on the fused kernels.
static Tensor batch_norm_fused(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                               const Tensor& weight, const Tensor& bias, bool training, double momentum,
                               double eps, BatchNormActivation act) {
    const bool with_act = act.kind != BatchNormActivation::None;
    const char* op = with_act ? "batch_norm_act" : "batch_norm";
    const int64_t n = x.shape()[0], c = x.shape()[1];
    const K::BatchNormShape shape{n, c, n * c == 0 ? 1 : x.numel() / (n * c)};
    Tensor xc = x.detach().contiguous();
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    Tensor save_mean = empty(Shape{c}, {x.dtype(), x.device()}), save_invstd = empty(Shape{c}, {x.dtype(), x.device()});
    const bool update = training && running_mean.defined() && running_var.defined();
    const bool stats = update || !training;  // the running statistics are read or written
    const K::BatchNormForwardArgs args{.shape = shape, .x = xc.raw_data(), .weight = data_or_null(weight),
                                       .bias = data_or_null(bias),
                                       .running_mean = stats ? running_mean.raw_data() : nullptr,
                                       .running_var = stats ? running_var.raw_data() : nullptr,
                                       .training = training, .momentum = momentum, .eps = eps, .y = y.raw_data(),
                                       .save_mean = save_mean.raw_data(), .save_invstd = save_invstd.raw_data()};
    if (x.numel() > 0) {
        if (with_act) K::batch_norm_act_forward_table().get(x.device(), x.dtype())({args, act});
        else K::batch_norm_forward_table().get(x.device(), x.dtype())(args);
    }
    if (update) {
        running_mean.bump_version();
        running_var.bump_version();
    }
    autograd::check_forward_anomaly(op, y);
    // Only training reaches here with gradients (eval with gradients goes to the composite form).
    return autograd::record(op, y, {x, weight, bias},
        [xc, save_mean, save_invstd, shape, eps, act, with_act](const Tensor& g, const Saved& s) -> Grads {
            Tensor x = s.input(0), weight = s.input(1);
            const bool with_bias = s.needs_grad(2);
            if (autograd::grad_enabled()) {
                Tensor g_norm = with_act ? where(s.output() > 0.0, g, g * act.negative_slope()) : g;
                return batch_norm_backward_composite(g_norm, x, weight, with_bias, eps);
            }
            Tensor gc = g.contiguous();
            Tensor gx = empty(x.shape(), {x.dtype(), x.device()});
            Tensor gw = weight.defined() ? empty(weight.shape(), {x.dtype(), x.device()}) : Tensor();
            Tensor gb = with_bias ? empty(s.shape(2), {x.dtype(), x.device()}) : Tensor();
            const K::BatchNormBackwardArgs args{.shape = shape, .x = xc.raw_data(), .grad_y = gc.raw_data(),
                                                .save_mean = save_mean.raw_data(),
                                                .save_invstd = save_invstd.raw_data(), .weight = data_or_null(weight),
                                                .grad_x = gx.raw_data(), .grad_weight = data_or_null(gw),
                                                .grad_bias = data_or_null(gb)};
            if (x.numel() > 0) {
                if (with_act)
                    K::batch_norm_act_backward_table().get(x.device(), x.dtype())({args, s.output().raw_data(), act});
                else
                    K::batch_norm_backward_table().get(x.device(), x.dtype())(args);
            }
            return {gx, gw, gb};
        }, with_act ? Keep::InputsAndOutput : Keep::Inputs);
}

// What batch_norm and batch_norm_act check of their arguments, the error naming `op`.
static void check_batch_norm_args(const char* op, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& weight, const Tensor& bias, bool training) {
    check_floating(op, x);
    MG_CHECK(x.dim() >= 2, "{}: input must be [N, C, ...], got {}", op, x.shape());
    const int64_t c = x.shape()[1];
    for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
        if (t->defined())
            MG_CHECK(t->dim() == 1 && t->shape()[0] == c, "{}: parameter {} does not match {} channels of {}", op,
                     t->shape(), c, x.shape());
    const int64_t count = x.numel() / std::max<int64_t>(c, 1);
    if (training)
        MG_CHECK(count > 1, "{}: training needs more than one value per channel, got input {}", op, x.shape());
    else
        MG_CHECK(running_mean.defined() && running_var.defined(),
                 "{}: evaluation mode needs running_mean and running_var", op);
}

// Eval mode with gradients runs the composite form (the fused backward assumes batch statistics).
static bool batch_norm_runs_fused(const K::OpTableBase& table, const Tensor& x, const Tensor& running_mean,
                                  const Tensor& running_var, const Tensor& weight, const Tensor& bias, bool training) {
    const bool eval_with_grad = !training && autograd::needs_grad({&x, &weight, &bias});
    return !eval_with_grad && batch_norm_fusable(table, x, {&running_mean, &running_var, &weight, &bias});
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    check_batch_norm_args("batch_norm", x, running_mean, running_var, weight, bias, training);
    if (batch_norm_runs_fused(K::batch_norm_forward_table(), x, running_mean, running_var, weight, bias, training))
        return batch_norm_fused(x, running_mean, running_var, weight, bias, training, momentum, eps, {});
    const int64_t c = x.shape()[1];
    const std::vector<int64_t> axes = non_channel_axes(x);
    const int64_t count = x.numel() / std::max<int64_t>(c, 1);

    Tensor mean_, var_;
    if (training) {
        mean_ = mean(x, axes, true);
        var_ = var(x, axes, /*correction=*/0, true);
        if (running_mean.defined() && running_var.defined()) {
            autograd::NoGradGuard no_grad;
            Tensor m = mean_.detach().reshape(Shape{c}), v = var_.detach().reshape(Shape{c});
            Tensor unbiased = v * (double(count) / double(count - 1));
            Tensor(running_mean).copy_(running_mean * (1.0 - momentum) + m * momentum);
            Tensor(running_var).copy_(running_var * (1.0 - momentum) + unbiased * momentum);
        }
    } else {
        mean_ = per_channel(running_mean, x.dim());
        var_ = per_channel(running_var, x.dim());
    }
    Tensor y = (x - mean_) * pow(var_ + eps, -0.5);
    if (weight.defined()) y = y * per_channel(weight, x.dim());
    if (bias.defined()) y = y + per_channel(bias, x.dim());
    return y;
}

static void check_activation(const BatchNormActivation& act) {
    using A = BatchNormActivation;
    MG_CHECK(act.kind == A::None || act.kind == A::Relu || act.kind == A::LeakyRelu,
             "batch_norm_act: unknown activation {}", int(act.kind));
    MG_CHECK(act.kind != A::LeakyRelu || (act.slope >= 0.0 && std::isfinite(act.slope)),
             "batch_norm_act: leaky_relu slope {} must be finite and >= 0", act.slope);
}

Tensor batch_norm_act_composed(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                               const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps,
                               BatchNormActivation act) {
    return batch_norm_activation(batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps), act);
}

Tensor batch_norm_activation(const Tensor& y, BatchNormActivation act) {
    check_activation(act);
    if (act.kind == BatchNormActivation::Relu) return relu(y);
    if (act.kind == BatchNormActivation::LeakyRelu) return leaky_relu(y, act.slope);
    return y;
}

Tensor batch_norm_act(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                      const Tensor& bias, bool training, double momentum, double eps, BatchNormActivation act) {
    check_activation(act);
    check_batch_norm_args("batch_norm_act", x, running_mean, running_var, weight, bias, training);
    if (act.kind != BatchNormActivation::None &&
        batch_norm_runs_fused(K::batch_norm_act_forward_table(), x, running_mean, running_var, weight, bias, training))
        return batch_norm_fused(x, running_mean, running_var, weight, bias, training, momentum, eps, act);
    return batch_norm_act_composed(x, running_mean, running_var, weight, bias, training, momentum, eps, act);
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
    Tensor y = (x - mean_) * pow(var_ + eps, -0.5);
    if (weight.defined()) {
        MG_CHECK(weight.shape() == normalized_shape, "layer_norm: weight {} must have shape {}", weight.shape(),
                 normalized_shape);
        y = y * weight;
    }
    if (bias.defined()) {
        MG_CHECK(bias.shape() == normalized_shape, "layer_norm: bias {} must have shape {}", bias.shape(),
                 normalized_shape);
        y = y + bias;
    }
    return y;
}

// x viewed as [outer, classes, inner] around dim d (kernels/softmax.h).
static K::SoftmaxShape softmax_shape(const Shape& s, int d) {
    K::SoftmaxShape k;
    for (int i = 0; i < d; ++i) k.outer *= s[i];
    k.classes = s[d];
    for (int i = d + 1; i < s.size(); ++i) k.inner *= s[i];
    return k;
}

// softmax (log = false) or log_softmax (log = true) through the fused kernels. Backward:
//   softmax      gx = y (g - sum(g y))        log_softmax  gx = g - e^y sum(g)
// as a kernel, or with differentiable ops of the saved output when grad mode is on.
static Tensor softmax_fused(const Tensor& x, int64_t dim, bool log) {
    const char* op = log ? "log_softmax" : "softmax";
    const int d = wrap_dim(dim, x.dim(), op);
    const K::SoftmaxShape shape = softmax_shape(x.shape(), d);
    Tensor xc = x.detach().contiguous();
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    if (y.numel() > 0) K::softmax_forward_table().get(x.device(), x.dtype())(shape, xc.raw_data(), y.raw_data(), log);
    autograd::check_forward_anomaly(op, y);
    return autograd::record(op, y, {x}, [d, log, shape](const Tensor& g, const Saved& s) -> Grads {
        const std::vector<int64_t> dims{d};
        Tensor y_ = s.output();
        if (autograd::grad_enabled()) {
            if (log) return {g - exp(y_) * sum(g, dims, true)};
            return {y_ * (g - sum(g * y_, dims, true))};
        }
        Tensor gc = g.contiguous();
        Tensor gx = empty(y_.shape(), {y_.dtype(), y_.device()});
        if (gx.numel() > 0)
            K::softmax_backward_table().get(y_.device(), y_.dtype())(shape, y_.raw_data(), gc.raw_data(), gx.raw_data(),
                                                                     log);
        return {gx};
    }, Keep::Output);
}

Tensor softmax(const Tensor& x, int64_t dim) {
    check_floating("softmax", x);
    if (K::softmax_forward_table().has_kernel(x.device(), x.dtype()) && x.dim() > 0) return softmax_fused(x, dim, false);
    Tensor e = exp(x - amax(x.detach(), {dim}, true));
    return e / sum(e, {dim}, true);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
    check_floating("log_softmax", x);
    if (K::softmax_forward_table().has_kernel(x.device(), x.dtype()) && x.dim() > 0) return softmax_fused(x, dim, true);
    return x - logsumexp(x, dim, true);
}

}  // namespace mg
