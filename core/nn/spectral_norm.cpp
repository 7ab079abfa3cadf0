#include "core/nn/spectral_norm.h"

#include <cfloat>

#include "core/autograd.h"
#include "core/nn/conv.h"
#include "core/nn/linear.h"
#include "core/ops.h"

namespace mg::nn {

namespace {

// weight [d0, d1, ...] -> [d_dim, rest], dimension `dim` first (PyTorch's reshape_weight_to_matrix).
Tensor weight_matrix(const Tensor& weight, int64_t dim) {
    MG_CHECK(weight.dim() >= 1 && dim >= 0 && dim < weight.dim(), "spectral_norm: dim {} of a weight {}", dim,
             weight.shape());
    Tensor w = weight;
    if (dim != 0) {
        std::vector<int64_t> order{dim};
        for (int64_t d = 0; d < weight.dim(); ++d)
            if (d != dim) order.push_back(d);
        w = w.permute(order);
    }
    return w.reshape({w.size(0), -1});
}

// x / max(||x||, eps), x [n].
Tensor normalize(const Tensor& x, double eps) { return x / clamp(norm(x), eps, DBL_MAX); }

}  // namespace

Tensor spectral_normalize(const Tensor& weight, const Tensor& u, const Tensor& v, int64_t dim) {
    Tensor w = weight_matrix(weight, dim);
    MG_CHECK(u.dim() == 1 && v.dim() == 1 && u.size(0) == w.size(0) && v.size(0) == w.size(1),
             "spectral_normalize: u {} and v {} do not fit a weight matrix {}", u.shape(), v.shape(), w.shape());
    Tensor sigma = sum(u.detach() * matmul(w, v.detach()));  // u^T W v, a 0-d tensor
    return weight / sigma;
}

SpectralNorm::SpectralNorm(std::shared_ptr<Module> wrapped, int64_t iterations, double eps_)
    : layer(std::move(wrapped)), n_power_iterations(iterations), eps(eps_) {
    MG_CHECK(layer != nullptr, "SpectralNorm: no layer to wrap");
    MG_CHECK(iterations >= 0, "SpectralNorm: n_power_iterations must be >= 0, got {}", iterations);
    MG_CHECK(eps > 0, "SpectralNorm: eps must be positive, got {}", eps);
    MG_CHECK(layer->as<MaskedConv2d>() == nullptr, "SpectralNorm: MaskedConv2d is not supported (its mask)");
    if (auto* l = layer->as<Linear>()) {
        weight_orig = l->weight, bias = l->bias, dim = 0;
    } else if (auto* c = layer->as<Conv2d>()) {
        weight_orig = c->weight, bias = c->bias, dim = 0;
    } else if (auto* t = layer->as<ConvTranspose2d>()) {
        weight_orig = t->weight, bias = t->bias, dim = 1;
    } else {
        MG_FAIL("SpectralNorm: wraps Linear, Conv2d or ConvTranspose2d, not {}", layer->type_name());
    }
    MG_CHECK(layer->children().empty(), "SpectralNorm: the layer {} has children", layer->type_name());
    if (bias.defined()) register_parameter("bias", bias);
    register_parameter("weight_orig", weight_orig);
    Tensor w = weight_matrix(weight_orig.detach(), dim);
    autograd::NoGradGuard no_grad;
    weight_u = register_buffer("weight_u", normalize(randn({w.size(0)}, {w.dtype(), w.device()}), eps));
    weight_v = register_buffer("weight_v", normalize(randn({w.size(1)}, {w.dtype(), w.device()}), eps));
}

void SpectralNorm::power_iteration() {
    autograd::NoGradGuard no_grad;
    Tensor w = weight_matrix(weight_orig.detach(), dim);
    Tensor u = weight_u, v = weight_v;
    for (int64_t i = 0; i < n_power_iterations; ++i) {
        v = normalize(matmul(w.t(), u), eps);
        u = normalize(matmul(w, v), eps);
    }
    // Written into the buffers in place; forward then uses copies, so that a later
    // forward's update never changes what this one saved for backward.
    weight_u.copy_(u);
    weight_v.copy_(v);
}

Tensor SpectralNorm::normalized_weight() {
    if (is_training() && n_power_iterations > 0) power_iteration();
    return spectral_normalize(weight_orig, weight_u.clone(), weight_v.clone(), dim);
}

double SpectralNorm::sigma() const {
    autograd::NoGradGuard no_grad;
    return sum(weight_u * matmul(weight_matrix(weight_orig.detach(), dim), weight_v)).item();
}

Tensor SpectralNorm::forward(const Tensor& x) {
    Tensor w = normalized_weight();
    if (layer->as<Linear>()) return linear(x, w, bias);
    if (auto* c = layer->as<Conv2d>()) return conv2d(x, w, bias, c->options);
    return conv_transpose2d(x, w, bias, layer->as<ConvTranspose2d>()->options);
}

std::string SpectralNorm::extra_repr() const { return layer->repr(); }

std::shared_ptr<Module> spectral_norm(std::shared_ptr<Module> layer, bool on) {
    if (!on) return layer;
    return std::make_shared<SpectralNorm>(std::move(layer));
}

}  // namespace mg::nn
