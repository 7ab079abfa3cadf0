#include "core/nn/norm.h"

#include "core/autograd.h"
#include "core/dist/sync_batch_norm.h"
#include "core/nn/format.h"
#include "core/nn/init.h"
#include "core/ops.h"

namespace mg::nn {

using fmt_detail::py_bool;
using fmt_detail::py_float;

BatchNorm::BatchNorm(int64_t c, double eps_, std::optional<double> momentum_, bool affine_, bool track, int min_dim,
                     int max_dim)
    : num_features(c), eps(eps_), momentum(momentum_), affine(affine_), track_running_stats(track),
      min_dim_(min_dim), max_dim_(max_dim) {
    MG_CHECK(c > 0, "{}: num_features must be positive, got {}", type_name(), c);
    MG_CHECK(eps > 0, "{}: eps must be positive, got {}", type_name(), eps);
    if (affine) {
        weight = register_parameter("weight", empty({c}));
        bias = register_parameter("bias", empty({c}));
    }
    if (track) {
        running_mean = register_buffer("running_mean", empty({c}));
        running_var = register_buffer("running_var", empty({c}));
        num_batches_tracked = register_buffer("num_batches_tracked", empty(Shape{}, {DType::Int64}));
    }
    reset_parameters();
}

void BatchNorm::reset_running_stats() {
    if (!track_running_stats) return;
    autograd::NoGradGuard no_grad;
    running_mean.zero_();
    running_var.fill_(1.0);
    num_batches_tracked.zero_();
}

void BatchNorm::reset_parameters() {
    reset_running_stats();
    if (!affine) return;
    init::ones_(weight);
    init::zeros_(bias);
}

Tensor BatchNorm::forward(const Tensor& x) { return forward_act(x, {}); }

Tensor BatchNorm::forward_act(const Tensor& x, BatchNormActivation act) {
    MG_CHECK(x.dim() >= min_dim_ && x.dim() <= max_dim_, "{}: expected {} input, got {}", type_name(),
             min_dim_ == max_dim_ ? fmt::format("a {}-D", min_dim_) : fmt::format("a {}-D or {}-D", min_dim_, max_dim_),
             x.shape());
    double factor = 0.0;  // the running average's weight for this batch
    if (is_training() && track_running_stats) {
        autograd::NoGradGuard no_grad;
        num_batches_tracked.copy_(num_batches_tracked + 1.0);
        factor = momentum ? *momentum : 1.0 / num_batches_tracked.item();
    }
    if (sync_group && is_training())  // the statistics over ranks, then this layer's activation
        return batch_norm_activation(
            dist::sync_batch_norm(x, running_mean, running_var, weight, bias, factor, eps, *sync_group), act);
    // Without running statistics (track_running_stats = false, running_mean undefined)
    // there is nothing to use in eval: batch statistics always.
    bool use_batch_stats = is_training() || !track_running_stats;
    if (act.kind == BatchNormActivation::None)
        return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor, eps);
    return batch_norm_act(x, running_mean, running_var, weight, bias, use_batch_stats, factor, eps, act);
}

std::string BatchNorm::extra_repr() const {
    return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features, py_float(eps),
                       momentum ? py_float(*momentum) : "None", py_bool(affine), py_bool(track_running_stats));
}

BatchNorm1d::BatchNorm1d(int64_t c, double eps, std::optional<double> momentum, bool affine, bool track)
    : BatchNorm(c, eps, momentum, affine, track, 2, 3) {}

BatchNorm2d::BatchNorm2d(int64_t c, double eps, std::optional<double> momentum, bool affine, bool track)
    : BatchNorm(c, eps, momentum, affine, track, 4, 4) {}

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine)
    : normalized_shape(shape), eps(eps_), elementwise_affine(affine) {
    MG_CHECK(shape.size() >= 1, "LayerNorm: normalized_shape must have at least one dimension");
    for (int64_t d : shape) MG_CHECK(d > 0, "LayerNorm: normalized_shape {} must be positive", shape);
    if (affine) {
        weight = register_parameter("weight", empty(shape));
        bias = register_parameter("bias", empty(shape));
    }
    reset_parameters();
}

void LayerNorm::reset_parameters() {
    if (!elementwise_affine) return;
    init::ones_(weight);
    init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
    return fmt::format("{}, eps={}, elementwise_affine={}", fmt_detail::py_tuple(normalized_shape), py_float(eps),
                       py_bool(elementwise_affine));
}

}  // namespace mg::nn
