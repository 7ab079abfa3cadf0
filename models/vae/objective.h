// The VAE's training loss and its likelihood bounds, as free functions of an encoder,
// a decoder and the noise, so that a test can pass the exact eps PyTorch used.
//
// With q(z|x) = N(mu, diag(sigma^2)), z = mu + sigma * eps, eps ~ N(0, I), and Bernoulli
// pixels p(x|z) with logits l = decoder(z):
//
//   log p(x|z)          = sum_pixels x*l - softplus(l)      (= -sum BCE-with-logits)
//   KL(q(z|x) || N(0,I)) = -1/2 sum (1 + logvar - mu^2 - exp(logvar))
//   ELBO(x)             = E_q[log p(x|z)] - KL  <=  log p(x)
//   log w_k             = log p(x|z_k) + log N(z_k; 0, I) - log q(z_k|x)
//                       = log p(x|z_k) - |z_k|^2/2 + |eps_k|^2/2 + sum(logvar)/2
//   IWAE_K(x)           = logsumexp_k(log w_k) - log K      (Burda et al. 2016)
//
// IWAE_1 is an ELBO estimate; E[IWAE_K] rises with K towards log p(x).
// All in nats; x in [0, 1] (continuous targets are allowed, as in the workload).
#pragma once

#include "models/bugs.h"
#include "models/vae/networks.h"

namespace mg::models {

// The batch loss of workloads.md and its two parts, 0-d tensors, per image:
//   recon = sum BCE / B,  kl = sum KL / B,  loss = recon + beta * kl  (beta 1: the negative ELBO)
struct VaeLoss {
    Tensor loss, recon, kl;
};
// x [B, C, H, W], condition [B, classes] or undefined, eps [B, latent] (the reparameterisation noise).
// Bug::VaeKlSum (models/bugs.h) averages recon over the pixels too (BCE mean), so the KL,
// still summed, weighs C*H*W times too much.
VaeLoss vae_loss(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x, const Tensor& condition,
                 const Tensor& eps, double beta = 1.0, Bug bug = Bug::None);

// Per-image bounds [B] in float64: elbo = mean_k log p(x|z_k) - KL (the analytic KL, the
// reconstruction averaged over the K samples) and iwae = IWAE_K.
struct LikelihoodBounds {
    Tensor elbo, iwae;
};
// x [B, C, H, W], eps [K, B, latent]. No graph is recorded.
LikelihoodBounds likelihood_bounds(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x,
                                   const Tensor& condition, const Tensor& eps);

// log w [K, B] (float64) for the same inputs: the importance weights IWAE averages.
Tensor log_importance_weights(VaeEncoder& encoder, VaeDecoder& decoder, const Tensor& x, const Tensor& condition,
                              const Tensor& eps);

// IWAE from log weights [K, B]: logsumexp over k (stable: shifted by the max) minus log K -> [B].
Tensor iwae_from_log_weights(const Tensor& log_w);

}  // namespace mg::models
