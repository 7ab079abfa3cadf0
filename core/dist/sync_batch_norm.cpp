#include "core/dist/sync_batch_norm.h"

#include <vector>

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::dist {
namespace {

bool g_local_statistics = false;  // a LocalBatchStatistics scope is alive

// v [C] as [1, C, 1, ...], to broadcast against an x of `ndim` dims.
Tensor channels_of(const Tensor& v, int ndim) {
    Shape s = Shape::filled(ndim, 1);
    s[1] = v.numel();
    return v.reshape(s);
}

Tensor detached(const Tensor& t) { return t.defined() ? t.detach() : t; }

// The global batch's per-channel moments, float64 [C] each, the same bits on every rank.
struct GlobalMoments {
    Tensor mean, m2;  // m2: sum over every rank's values of (x - mean)^2
    double count = 0;
};

// Each rank's (count, mean[C], M2[C]) in one all-gather, combined in rank order by Chan et
// al.'s pairwise update: with n = n_a + n_b and d = mean_b - mean_a,
//   mean = mean_a + d n_b / n,   M2 = M2_a + M2_b + d^2 n_a n_b / n.
GlobalMoments global_moments(const Tensor& x, const std::vector<int64_t>& axes, Collective& group) {
    const int64_t c = x.size(1), n = x.numel() / c, width = 1 + 2 * c;
    Tensor mine = zeros({width}, {DType::Float64});
    if (n > 0) {
        autograd::NoGradGuard no_grad;
        Tensor x64 = x.detach().to(DType::Float64);
        mine = cat({full({1}, double(n), {DType::Float64}), mean(x64, axes), var(x64, axes, 0) * double(n)}, 0);
    }
    const Tensor all = group.all_gather(mine.contiguous());  // [world * width], rank order
    const double* parts = all.data<double>();
    GlobalMoments g;
    std::vector<double> mean_(size_t(c), 0.0), m2(size_t(c), 0.0);
    for (int r = 0; r < group.size(); ++r) {
        const double* part = parts + int64_t(r) * width;
        const double nb = part[0];
        if (nb == 0) continue;
        const double total = g.count + nb;
        for (int64_t k = 0; k < c; ++k) {
            const double d = part[1 + k] - mean_[size_t(k)];
            mean_[size_t(k)] += d * (nb / total);
            m2[size_t(k)] += part[1 + c + k] + d * d * (g.count * nb / total);
        }
        g.count = total;
    }
    g.mean = from_vector(mean_, Shape{c});
    g.m2 = from_vector(m2, Shape{c});
    return g;
}

}  // namespace

bool local_batch_statistics() { return g_local_statistics; }
void set_local_batch_statistics(bool on) { g_local_statistics = on; }

Tensor sync_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, double momentum, double eps, Collective& group) {
    if (group.size() == 1 || g_local_statistics)
        return batch_norm(x, running_mean, running_var, weight, bias, /*training=*/true, momentum, eps);
    MG_CHECK(x.dim() >= 2 && x.size(1) > 0, "sync_batch_norm: input must be [N, C, ...], got {}", x.shape());
    MG_CHECK(x.device() == Device::CPU, "sync_batch_norm: backend '{}' combines CPU tensors, got one on {}",
             group.backend(), x.device());
    const int64_t c = x.size(1);
    for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
        if (t->defined())
            MG_CHECK(t->dim() == 1 && t->size(0) == c, "sync_batch_norm: parameter {} does not match {} channels of {}",
                     t->shape(), c, x.shape());
    std::vector<int64_t> axes;
    for (int d = 0; d < x.dim(); ++d)
        if (d != 1) axes.push_back(d);

    const GlobalMoments g = global_moments(x, axes, group);
    MG_CHECK(g.count > 1, "sync_batch_norm: training needs more than one value per channel over the {} ranks, got {}",
             group.size(), g.count);
    const double count = g.count;
    Tensor mean_x, var_x, invstd;
    {
        autograd::NoGradGuard no_grad;
        mean_x = g.mean.to(x.dtype());
        var_x = (g.m2 * (1.0 / count)).to(x.dtype());
        invstd = pow(var_x.to(DType::Float64) + eps, -0.5).to(x.dtype());
        if (running_mean.defined() && running_var.defined()) {
            const Tensor unbiased = (g.m2 * (1.0 / (count - 1))).to(x.dtype());
            Tensor(running_mean).copy_(running_mean * (1.0 - momentum) + mean_x * momentum);
            Tensor(running_var).copy_(running_var * (1.0 - momentum) + unbiased * momentum);
        }
    }
    // The normalisation with the global statistics is batch_norm's evaluation mode with them.
    Tensor y;
    {
        autograd::NoGradGuard no_grad;
        y = batch_norm(x.detach(), mean_x, var_x, detached(weight), detached(bias), /*training=*/false, 0.0, eps);
    }
    return autograd::record("sync_batch_norm", y, {x, weight, bias},
        [mean_x, invstd, count, axes, c, &group](const Tensor& gy, const autograd::Saved& s) -> autograd::Grads {
            MG_CHECK(!autograd::grad_enabled(),
                     "sync_batch_norm: no second derivatives through a BatchNorm synced over ranks (--sync-bn): "
                     "the all-reduce in its backward is not differentiable");
            const Tensor x = s.input(0), weight = s.input(1);
            const int nd = x.dim();
            const Tensor xhat = (x - channels_of(mean_x, nd)) * channels_of(invstd, nd);
            const Tensor sum_gy = sum(gy, axes), sum_gy_xhat = sum(gy * xhat, axes);  // [C], this rank's
            Tensor gx;
            if (s.needs_grad(0)) {  // the same on every rank: the same graph
                Tensor sums = cat({sum_gy, sum_gy_xhat}, 0).contiguous();  // [2C]
                group.all_reduce(sums, ReduceOp::Sum);
                const Tensor scale = weight.defined() ? invstd * weight : invstd;
                gx = (gy - channels_of(sums.slice(0, 0, c) * (1.0 / count), nd) -
                      xhat * channels_of(sums.slice(0, c, 2 * c) * (1.0 / count), nd)) *
                     channels_of(scale, nd);
            }
            return {gx, weight.defined() ? sum_gy_xhat : Tensor(), s.needs_grad(2) ? sum_gy : Tensor()};
        });
}

}  // namespace mg::dist
