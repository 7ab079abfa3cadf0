#!/usr/bin/python3
"""The PyTorch reference for `minigen train vae`: the same model trained the same way,
scored the same way, so the two can be compared (docs/vae.md).

Model (docs/workloads.md): Encoder Linear(784,400) ReLU -> {Linear(400,20) = mu,
Linear(400,20) = logvar}; z = mu + exp(logvar/2) * eps; Decoder Linear(20,400) ReLU ->
Linear(400,784) Bernoulli logits. PyTorch's default nn.Linear init (minigen's Linear
uses the same distributions). Loss per batch: (sum BCE-with-logits + KL) / batch.
Adam lr 1e-3 (betas 0.9, 0.999), batch 128, pixels v/255 in [0, 1], a fresh shuffle
every epoch and the last partial batch dropped (468 steps per epoch), as minigen's
trainer does.

Scores on the 10,000 test images, in nats per image (models/vae/objective.h):
  ELBO   = mean_k log p(x|z_k) - KL(q(z|x) || N(0, I))     (K samples, analytic KL)
  IWAE_K = logsumexp_k(log p(x|z_k) + log p(z_k) - log q(z_k|x)) - log K

Run with Debian's PyTorch (python3-torch), at most 2 threads:
  nice /usr/bin/python3 tools/reference/train_vae_torch.py --epochs 10 --threads 2
Reads the IDX gzip files directly (default /usr/share/datasets/fashion-mnist).
"""
import json
import math
import pathlib
import sys
import time

from idx import read_split, set_thread_env, training_arg_parser  # tools/reference/idx.py
from torch_env import reexec_in_tuned_env  # tools/reference/torch_env.py


def parse_args():
    p = training_arg_parser(__doc__.split("\n")[0], batch_size=128, lr=1e-3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--iwae-k", type=int, default=100, help="importance samples of the IWAE bound")
    return p.parse_args()


reexec_in_tuned_env()  # before torch loads: OpenBLAS (OpenMP) and jemalloc
ARGS = parse_args()
set_thread_env(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import VaeDecoder, VaeEncoder  # noqa: E402  (tools/reference/common.py)


def load(split):
    images = read_split(ARGS.data, split)
    labels = read_split(ARGS.data, split, "labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(-1, 784)
    return x, torch.from_numpy(labels.astype(np.int64))


def vae_loss(enc, dec, x):
    mu, logvar = enc(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    logits = dec(z)
    b = x.shape[0]
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / b
    return recon + kl, recon, kl


@torch.no_grad()
def bounds(enc, dec, x, k):
    """Per-image ELBO and IWAE_K [B] (float64) for images x [B, 784]."""
    mu, logvar = enc(x)
    eps = torch.randn(k, *mu.shape)
    z = mu + torch.exp(0.5 * logvar) * eps  # [K, B, L]
    logits = dec(z.reshape(-1, z.shape[-1])).reshape(k, x.shape[0], -1)
    log_px = (logits * x - F.softplus(logits)).sum(-1).double()  # [K, B]
    z64, eps64, lv64 = z.double(), eps.double(), logvar.double()
    log_ratio = 0.5 * ((eps64 ** 2).sum(-1) - (z64 ** 2).sum(-1)) + 0.5 * lv64.sum(-1)
    kl = -0.5 * torch.sum(1 + lv64 - mu.double().pow(2) - lv64.exp(), -1)
    elbo = log_px.mean(0) - kl
    iwae = torch.logsumexp(log_px + log_ratio, 0) - math.log(k)
    return elbo, iwae


def evaluate(enc, dec, x, k, rows=12800):
    chunk = max(1, rows // k)
    elbo = iwae = 0.0
    for s in range(0, x.shape[0], chunk):
        e, i = bounds(enc, dec, x[s:s + chunk], k)
        elbo += e.sum().item()
        iwae += i.sum().item()
    return elbo / x.shape[0], iwae / x.shape[0]


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(ARGS.seed)
    train_x, _ = load("train")
    test_x, _ = load("test")
    enc, dec = VaeEncoder(), VaeDecoder()
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=ARGS.lr)
    per_epoch = train_x.shape[0] // ARGS.batch_size
    epoch_seconds, epoch_cpu = [], []
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {per_epoch} steps per epoch", flush=True)
    for epoch in range(ARGS.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(train_x.shape[0])
        total = 0.0
        for b in range(per_epoch):
            x = train_x[order[b * ARGS.batch_size:(b + 1) * ARGS.batch_size]]
            loss, recon, kl = vae_loss(enc, dec, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
        epoch_seconds.append(time.perf_counter() - t0)
        epoch_cpu.append(time.process_time() - c0)
        print(f"epoch {epoch + 1}: mean loss {total / per_epoch:.3f}  {epoch_seconds[-1]:.2f} s "
              f"(cpu {epoch_cpu[-1]:.2f} s)", flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    elbo, iwae = evaluate(enc, dec, test_x, ARGS.iwae_k)
    eval_seconds, eval_cpu = time.perf_counter() - t0, time.process_time() - c0
    result = {
        "framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(), "epochs": ARGS.epochs,
        "seed": ARGS.seed, "test_elbo": elbo, "test_iwae": iwae, "iwae_k": ARGS.iwae_k,
        "nll_nats": -iwae, "nll_bits_per_dim": -iwae / (784 * math.log(2)),
        "epoch_seconds": epoch_seconds, "epoch_cpu_seconds": epoch_cpu,
        "median_epoch_seconds": float(np.median(epoch_seconds)), "eval_seconds": eval_seconds,
        "eval_cpu_seconds": eval_cpu,
    }
    print(f"test ELBO {elbo:.3f}  IWAE-{ARGS.iwae_k} {iwae:.3f} nats  "
          f"({-iwae / (784 * math.log(2)):.4f} bits/dim; evaluation {eval_seconds:.1f} s, cpu {eval_cpu:.1f} s)")
    print(f"time per epoch: median {result['median_epoch_seconds']:.2f} s")
    if ARGS.json:
        pathlib.Path(ARGS.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
