#!/usr/bin/python3
"""Writes tests/reference/fixtures/vae_<case>.safetensors: one training step of
minigen's VAEs computed by PyTorch, which tests/test_vae.cpp replays and compares.

A step is what models/vae/vae_model.cpp (VaeModel::step) does:

  mu, logvar = encoder(x [, one-hot y])          Linear(784 (+10), hidden) ReLU -> {Linear mu, Linear logvar}
  z          = mu + exp(logvar / 2) * eps
  logits     = decoder(z [, one-hot y])          Linear(latent (+10), hidden) ReLU -> Linear(hidden, 784)
  recon      = sum BCE-with-logits(logits, x) / B
  kl         = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) / B
  loss       = recon + beta * kl;  backward;  one Adam step (lr 1e-3, betas 0.9, 0.999) of both networks

The networks are workloads.md's with a narrow hidden layer, so the file stays small;
the code path is the one `minigen train vae` runs.

Each fixture holds:
  input.x, input.labels                 the batch (float32 in [0, 1]; int64 labels for cvae)
  noise.eps                             the reparameterisation noise [B, latent] (float32)
  init.encoder.<name>, init.decoder.<name>   the state dicts before the step (float32)
  metric.loss, metric.recon, metric.kl, metric.elbo   (float64, 0-d, as minigen reports them)
  grad.encoder.<name>, grad.decoder.<name>            every parameter's gradient (float64)
  after.encoder.<name>, after.decoder.<name>          the state dicts after the step (float64)
and in its metadata: "model" (minigen's name), "options" (JSON for ModelConfig.options), "lr".

The initial state and inputs are drawn in float32 and stored as such; the reference
runs on float64 copies of those exact values (as make_nn_fixtures.py does).

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_vae_fixture.py
It is needed only to regenerate the fixtures, never to run the tests.
"""
import copy
import json
import zlib

import torch
import torch.nn.functional as F

from fixture_io import regenerate, write_fixture
from common import VaeDecoder, VaeEncoder  # tools/reference/common.py (fixture_io puts it on the path)

CLASSES = 10


CASES = {
    "mlp": {"model": "vae", "hidden": 6, "latent": 3, "beta": 1.0, "batch": 5, "classes": 0},
    "cvae_beta": {"model": "cvae", "hidden": 6, "latent": 3, "beta": 0.5, "batch": 5, "classes": CLASSES},
}
LR = 1e-3


def inputs(case):
    b = case["batch"]
    x = torch.rand(b, 1, 28, 28)
    x[torch.rand(b, 1, 28, 28) < 0.4] = 0.0  # background, as in Fashion-MNIST
    x[torch.rand(b, 1, 28, 28) < 0.05] = 1.0
    t = {"input.x": x, "noise.eps": torch.randn(b, case["latent"])}
    if case["classes"]:
        t["input.labels"] = torch.randint(0, CLASSES, (b,))
    return t


def step(case, enc, dec, t):
    b = case["batch"]
    x = t["input.x"].double().reshape(b, -1)
    y = F.one_hot(t["input.labels"], CLASSES).double() if case["classes"] else None
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=LR)
    opt.zero_grad(set_to_none=True)
    mu, logvar = enc(torch.cat([x, y], 1) if y is not None else x)
    z = mu + torch.exp(0.5 * logvar) * t["noise.eps"].double()
    logits = dec(torch.cat([z, y], 1) if y is not None else z)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / b
    loss = recon + case["beta"] * kl
    loss.backward()
    out = {f"grad.encoder.{k}": p.grad for k, p in enc.named_parameters()}
    out.update({f"grad.decoder.{k}": p.grad for k, p in dec.named_parameters()})
    opt.step()
    metric = {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl)}
    out.update({f"metric.{k}": v.detach().double().reshape(()) for k, v in metric.items()})
    out.update({f"after.encoder.{k}": v for k, v in enc.state_dict().items()})
    out.update({f"after.decoder.{k}": v for k, v in dec.state_dict().items()})
    return out


def make(name, case):
    torch.manual_seed(zlib.crc32(name.encode()))
    enc = VaeEncoder(case["hidden"], case["latent"], case["classes"])  # PyTorch's default init
    dec = VaeDecoder(case["hidden"], case["latent"], case["classes"])
    t = inputs(case)
    tensors = dict(t)
    tensors.update({f"init.encoder.{k}": v.clone() for k, v in enc.state_dict().items()})
    tensors.update({f"init.decoder.{k}": v.clone() for k, v in dec.state_dict().items()})
    tensors.update(step(case, copy.deepcopy(enc).double(), copy.deepcopy(dec).double(), t))
    options = {"hidden": case["hidden"], "latent_dim": case["latent"], "beta": case["beta"],
               "batch_size": case["batch"]}
    metadata = {"model": case["model"], "options": json.dumps(options), "lr": repr(LR)}
    return write_fixture(f"vae_{name}", tensors, metadata)


if __name__ == "__main__":
    regenerate("vae", CASES, make)
