#include "models/vae/objective.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace mg::models {

namespace {

// What both bounds are made of, for K samples of each of B images (float64):
//   log p(x|z_k) [K, B],  log N(z_k; 0, I) - log q(z_k|x) [K, B],  KL(q(z|x) || N(0, I)) [B].
struct ImportanceTerms {
    Tensor log_px_given_z, log_prior_over_posterior, kl;
};

ImportanceTerms importance_terms(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x, const Tensor& condition,
                                 const Tensor& eps) {
    autograd::NoGradGuard no_grad;
    const int64_t latent = encoder.latent_dim();
    MG_CHECK(x.dim() == 4 && x.size(0) > 0, "vae likelihood: images must be [B, C, H, W], B > 0, got {}", x.shape());
    MG_CHECK(eps.dim() == 3 && eps.size(0) > 0 && eps.size(1) == x.size(0) && eps.size(2) == latent,
             "vae likelihood: eps {} is not [K, {}, {}] (K samples of {} images, latent {})", eps.shape(), x.size(0),
             latent, x.size(0), latent);
    const int64_t k = eps.size(0), b = x.size(0), pixels = x.numel() / b;
    DiagonalGaussian q = encoder.encode(x, condition);
    Tensor z = q.sample(eps);  // [K, B, L]
    Tensor condition_k;
    if (condition.defined())
        condition_k = condition.unsqueeze(0).expand({k, b, condition.size(1)}).reshape({k * b, condition.size(1)});
    Tensor logits = decoder.decode(z.reshape({k * b, latent}), condition_k).reshape({k, b, pixels});
    // log p(x|z) = sum x*l - softplus(l); x broadcast over the K samples. Sums accumulate in double.
    Tensor log_px = sum(logits * x.reshape({1, b, pixels}) - softplus(logits), {2}).to(DType::Float64);
    // The Gaussian normalisers cancel; z - mu = sigma * eps leaves |eps|^2 in log q.
    Tensor z64 = z.to(DType::Float64), eps64 = eps.to(DType::Float64), logvar64 = q.logvar.to(DType::Float64);
    Tensor log_ratio =
        (sum(square(eps64), {2}) - sum(square(z64), {2})) * 0.5 + (sum(logvar64, {1}) * 0.5).unsqueeze(0);
    Tensor kl = gaussian_kl(q.mu.to(DType::Float64), logvar64, Reduction::None);
    return {log_px, log_ratio, kl};
}

}  // namespace

VaeLoss vae_loss(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x, const Tensor& condition,
                 const Tensor& eps, double beta, Bug bug) {
    MG_CHECK(x.dim() == 4 && x.size(0) > 0, "vae_loss: images must be [B, C, H, W], B > 0, got {}", x.shape());
    MG_CHECK(eps.dim() == 2 && eps.size(0) == x.size(0) && eps.size(1) == encoder.latent_dim(),
             "vae_loss: eps {} does not fit {} images and a latent of {}", eps.shape(), x.size(0),
             encoder.latent_dim());
    const double batch = double(x.size(0));
    DiagonalGaussian q = encoder.encode(x, condition);
    Tensor z = q.sample(eps);
    Tensor logits = decoder.decode(z, condition);
    VaeLoss out;
    out.recon = bug == Bug::VaeKlSum ? binary_cross_entropy_with_logits(logits, x, Reduction::Mean)
                                     : binary_cross_entropy_with_logits(logits, x, Reduction::Sum) / batch;
    out.kl = gaussian_kl(q.mu, q.logvar, Reduction::Sum) / batch;
    out.loss = beta == 1.0 ? out.recon + out.kl : out.recon + out.kl * beta;
    return out;
}

Tensor log_importance_weights(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x, const Tensor& condition,
                              const Tensor& eps) {
    ImportanceTerms t = importance_terms(encoder, decoder, x, condition, eps);
    return t.log_px_given_z + t.log_prior_over_posterior;
}

Tensor iwae_from_log_weights(const Tensor& log_w) {
    MG_CHECK(log_w.dim() == 2 && log_w.size(0) > 0, "iwae: log weights must be [K, B] with K >= 1, got {}",
             log_w.shape());
    return logsumexp(log_w, 0) - std::log(double(log_w.size(0)));
}

LikelihoodBounds likelihood_bounds(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x,
                                   const Tensor& condition, const Tensor& eps) {
    ImportanceTerms t = importance_terms(encoder, decoder, x, condition, eps);
    autograd::NoGradGuard no_grad;
    return {mean(t.log_px_given_z, {0}) - t.kl, iwae_from_log_weights(t.log_px_given_z + t.log_prior_over_posterior)};
}

}  // namespace mg::models
