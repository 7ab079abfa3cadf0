// Spectral normalization (Miyato et al. 2018), as torch.nn.utils.spectral_norm.
//
// A layer's weight W is used as W / sigma(W), sigma the largest singular value of W seen
// as a matrix W_mat [h, w] (Linear, Conv2d: [out, in*kh*kw]; ConvTranspose2d, whose
// weight is [in, out, kh, kw]: [out, in*kh*kw]). sigma is estimated by power iteration
// with a persistent vector u [h] (and v [w]), both buffers saved in the state dict:
//
//   every forward in training mode, without gradient:
//       v = normalize(W_mat^T u),  u = normalize(W_mat v)      (n_power_iterations times)
//   then, in every mode:
//       sigma = u^T W_mat v,   W_sn = W / sigma
//
// u and v are constants to autograd: the gradient flows through W in both the
// numerator and sigma, exactly as PyTorch's. In eval mode the stored u, v are used
// without iterating. normalize(x) = x / max(||x||, eps).
//
// State dict names are PyTorch's: "weight_orig" (the trained parameter), "weight_u",
// "weight_v", and "bias" when the layer has one.
//
//   auto d = std::make_shared<nn::Sequential>(nn::spectral_norm(std::make_shared<nn::Linear>(2, 128)), ...);
#pragma once

#include <memory>
#include <string>

#include "core/nn/module.h"

namespace mg::nn {

// W / (u^T W_mat v), W_mat = W with dimension `dim` moved first, flattened to [h, w].
// weight [d0, d1, ...], u [h], v [w]; differentiable in weight (u and v held constant).
Tensor spectral_normalize(const Tensor& weight, const Tensor& u, const Tensor& v, int64_t dim = 0);

class SpectralNorm : public Module {
public:
    // Takes over `layer`'s weight (as weight_orig) and bias; the layer itself is kept
    // for its convolution options but not registered. u and v start as normalized
    // N(0, 1) draws from the default generator, as in PyTorch.
    explicit SpectralNorm(std::shared_ptr<Module> layer, int64_t n_power_iterations = 1, double eps = 1e-12);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    // W / sigma; in training mode after n_power_iterations updates of u and v.
    Tensor normalized_weight();
    // u^T W_mat v with the current u and v (no iteration, no gradient): the estimate of
    // ||W||_2 the last forward used.
    double sigma() const;

    std::shared_ptr<Module> layer;  // the wrapped Linear, Conv2d or ConvTranspose2d
    int64_t n_power_iterations;
    double eps;
    int64_t dim;               // the weight dimension taken as the matrix's rows (1 for ConvTranspose2d)
    Tensor weight_orig, bias;  // the layer's own tensors (one TensorImpl each)
    Tensor weight_u, weight_v; // [h], [w]

private:
    void power_iteration();
};

// A convenience for building networks: the layer wrapped when `on`, else the layer itself.
std::shared_ptr<Module> spectral_norm(std::shared_ptr<Module> layer, bool on = true);

}  // namespace mg::nn
