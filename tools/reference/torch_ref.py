#!/usr/bin/python3
"""PyTorch reference timings for the minigen workloads and kernels (CPU).

Implements in plain PyTorch every reference workload of docs/workloads.md
(gan2d, dcgan, wgan-gp, cgan, vae, pixelcnn, classifier), the dcgan networks at
32x32 and 64x64 RGB (dcgan-rgb32, dcgan-rgb64: the rows of minigen bench's
workloads on "npy:random" data; networks as models/gan/networks.h builds them for
that size, tools/reference/common.py), and every kernel
shape listed there, and times them.  The numbers are the anchors a minigen
benchmark of the same workload is compared against.

What is timed
-------------
Models: one "step" is one full optimizer update of every network the model
trains (forward, backward, optimizer), on data already in memory:
  * gan2d, dcgan (and its RGB rows), cgan: one D update + one G update.  G(z) is computed once
    per step; D is trained on real and on fake.detach(), then G is trained
    through D(fake) with the non-saturating loss.  D's parameters are frozen
    during the G update (no D weight gradients are computed there).
  * wgan-gp: one critic update with the gradient penalty (second-order:
    torch.autograd.grad(..., create_graph=True) and a backward through the
    gradient norm) + one G update with fresh z.  n_critic is not applied.
  * vae, pixelcnn, classifier: one update on one batch.
  * pix2pix: one D update + one G update (BCE + 100 L1) of the U-Net and PatchGAN of
    tools/reference/pix2pix_torch.py, emoji-like 64x64 pairs stacked as 6 channels.
  * progan: one critic update (WGAN-GP + drift) + one G update with fresh z of
    tools/reference/progan_torch.py's networks at their final level, 64x64 RGB, batch 16.
Layers, initialisation, losses, optimizers and batch sizes follow
workloads.md.  Where workloads.md gives an init (dcgan, and wgan-gp / cgan
which reuse the dcgan networks) it is applied: N(0, 0.02) conv/linear weights,
N(1, 0.02) BatchNorm scale, BatchNorm shift 0; everything else (including all
biases) keeps PyTorch's default init.  Inputs are random tensors of the right
shape and range (GANs [-1, 1], VAE [0, 1], PixelCNN levels 0..255 scaled to
[0, 1] as input, gan2d the 8-Gaussian mixture), pre-generated and cycled.
Reported per model: ms per step (median, min, max over the timed steps),
images (or 2-D samples) per second = batch / median step time, and the
forward GFLOP per step of the Linear/Conv layers (counted with hooks;
a training step costs roughly 3x that).

Kernels (each one call per sample; very short calls are repeated inside a
sample and averaged):
  * sgemm C = A @ B (row-major, MxNxK): 256^3, 512^3, 1024^3, 2048^3,
    64x6272x100, 64x1x6272, 128x400x784 -> GFLOP/s (2*M*N*K).
  * conv2d N=64, 64->128, 14x14 -> 7x7, k4 s2 p1; conv_transpose2d N=64,
    128->64, 7x7 -> 14x14, k4 s2 p1; masked (type B) conv 7x7 N=64, 64->64,
    28x28, p3: forward, and forward+backward (grads of input, weight and
    bias) -> ms and GFLOP/s (backward counted as 2x forward; the masked conv
    is counted as dense 7x7, of which 25/49 taps are non-zero).
  * add of two 16 Mi-element float32 tensors into a preallocated output ->
    GB/s (3 x 64 MiB moved); sum of 16 Mi floats -> GB/s (64 MiB read).
  * softmax + cross-entropy, 64*784 rows x 256 classes: forward, and
    forward+backward -> ms.
  * causal attention at ImageGPT-small's shape, q, k, v [4, 4, 784, 32], composed as
    (q @ k^T) * D^-0.5, masked_fill of the upper triangle with -inf, softmax, @ v: forward
    (autograd recording), and forward+backward (grads of q, k and v) -> ms. The labels are
    minigen bench's rows for its fused causal_attention kernels.
  * per-op overhead: a + b on 16-element tensors (us per op), and forward +
    backward of a 3-layer 128-wide MLP (Linear-ReLU-Linear-ReLU-Linear) at
    batch 256.

Threads: --threads (default 2) sets torch's intra-op threads and, because it
must happen before torch is loaded, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
(Debian's torch calls the system BLAS, libblas.so.3, for matmul).

BLAS on Debian: libblas.so.3 defaults to the pthread build of OpenBLAS, whose
thread pool competes with torch's OpenMP pool; on a machine with few cores
this makes many workloads several times slower and very noisy.  Use the
OpenMP build, which shares torch's pool.  glibc's malloc also hands large
freed tensors back to the kernel, so every step page-faults its activations
back in; jemalloc with purging off avoids that.  The reference configuration:
  apt-get install libopenblas0-openmp libjemalloc2
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \
  MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 \
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
  /usr/bin/python3 torch_ref.py --workload all --json results.json
The script prints which BLAS library was loaded and warns about the pthread one.

Usage (needs only torch and numpy; Debian: apt-get install python3-torch):
  /usr/bin/python3 torch_ref.py --list
  /usr/bin/python3 torch_ref.py --workload all --json results.json
  /usr/bin/python3 torch_ref.py --workload dcgan --steps 50 --warmup 5
  /usr/bin/python3 torch_ref.py --workload models      # every model
  /usr/bin/python3 torch_ref.py --workload kernels     # every kernel group
  /usr/bin/python3 torch_ref.py --workload sgemm,conv2d --threads 1
--workload takes a name, a comma-separated list of names, or the groups
models, kernels, all.  --json PATH writes every result (and the machine and
torch configuration) as JSON; '-' writes it to stdout.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

MODELS = ["gan2d", "dcgan", "dcgan-rgb32", "dcgan-rgb64", "wgan-gp", "cgan", "vae", "pixelcnn",
          "classifier", "pix2pix", "progan"]
KERNELS = ["sgemm", "conv2d", "conv_transpose2d", "masked_conv7x7", "add", "sum",
           "softmax_xent", "attention", "lstm_cell", "overhead"]

# Default (timed steps, warm-up steps) per model; kernels use --steps or 30.
MODEL_STEPS = {
    "gan2d": (300, 20),
    "dcgan": (40, 5),
    "dcgan-rgb32": (10, 2),
    "dcgan-rgb64": (5, 1),
    "wgan-gp": (30, 5),
    "cgan": (40, 5),
    "vae": (300, 20),
    "pixelcnn": (6, 2),
    "classifier": (40, 5),
    "pix2pix": (5, 1),
    "progan": (5, 1),
}
KERNEL_STEPS = (30, 3)


def parse_args():
    p = argparse.ArgumentParser(
        description="PyTorch CPU reference timings for the minigen workloads.")
    p.add_argument("--workload", default="all",
                   help="name, comma-separated names, or models|kernels|all (default all)")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps (samples) per workload; default depends on the workload")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed warm-up steps; default depends on the workload")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="write results as JSON to PATH ('-' for stdout)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--list", action="store_true", help="list workload names and exit")
    args = p.parse_args()
    if args.list:
        print("models: " + " ".join(MODELS))
        print("kernels: " + " ".join(KERNELS))
        print("groups: models kernels all")
        sys.exit(0)
    names = []
    for item in args.workload.split(","):
        item = item.strip()
        if item == "all":
            names += MODELS + KERNELS
        elif item == "models":
            names += MODELS
        elif item == "kernels":
            names += KERNELS
        elif item in MODELS or item in KERNELS:
            names.append(item)
        else:
            p.error(f"unknown workload {item!r} (try --list)")
    args.names = list(dict.fromkeys(names))
    return args


ARGS = parse_args()
LOG = sys.stderr if ARGS.json == "-" else sys.stdout  # keep stdout clean for --json -
# Must be set before torch (and its BLAS / OpenMP runtimes) are loaded.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import (DCDiscriminator, DCGenerator, MaskedConv2d, dcgan_init,  # noqa: E402
                    pixelcnn_net)  # (tools/reference/common.py)


# --------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------

def time_fn(fn, steps, warmup, min_sample_s=0.0):
    """Run fn `warmup` times, then `steps` timed samples.

    A sample is `inner` back-to-back calls, with `inner` chosen so that one
    sample lasts at least min_sample_s; returns seconds per call per sample.
    """
    for _ in range(warmup):
        fn()
    inner = 1
    if min_sample_s > 0:
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        inner = max(1, int(math.ceil(min_sample_s / one)))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return times


def summary(times):
    ms = [t * 1e3 for t in times]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
            "samples": len(ms)}


class FlopCounter:
    """Counts forward FLOPs (2 * MACs) of Linear / Conv2d / ConvTranspose2d."""

    def __init__(self):
        self.flop = 0

    def __call__(self, module, inputs, output):
        if isinstance(module, nn.Linear):
            self.flop += 2 * output.numel() * module.in_features
        elif isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            self.flop += 2 * output.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.ConvTranspose2d):
            kh, kw = module.kernel_size
            self.flop += (2 * inputs[0].numel() * (module.out_channels // module.groups)
                          * kh * kw)

    def count(self, fn):
        self.flop = 0
        handle = nn.modules.module.register_module_forward_hook(self)
        try:
            fn()
        finally:
            handle.remove()
        return self.flop


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------

class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, 400)
        self.mu = nn.Linear(400, 20)
        self.logvar = nn.Linear(400, 20)
        self.dec1 = nn.Linear(20, 400)
        self.dec2 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec2(F.relu(self.dec1(z))), mu, logvar


def classifier_net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


# --------------------------------------------------------------------------
# Data (random, right shape and range, pre-generated and cycled)
# --------------------------------------------------------------------------

POOL = 8  # batches kept in memory per workload


class Cycle:
    def __init__(self, items):
        self.items, self.i = items, 0

    def next(self):
        item = self.items[self.i % len(self.items)]
        self.i += 1
        return item


def eight_gaussians(n):
    k = torch.randint(0, 8, (n,))
    angle = k.float() * (2 * math.pi / 8)
    means = 2.0 * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return means + 0.02 * torch.randn(n, 2)


def gan_images(batch, channels=1, size=28):
    return Cycle([torch.rand(batch, channels, size, size) * 2 - 1 for _ in range(POOL)])


def labelled_gan_images(batch):
    return Cycle([(torch.rand(batch, 1, 28, 28) * 2 - 1, torch.randint(0, 10, (batch,)))
                  for _ in range(POOL)])


# --------------------------------------------------------------------------
# Training steps
# --------------------------------------------------------------------------

def set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


def make_gan_step(G, D, lr, batch, sample_real, sample_z, sample_fake_label=None):
    """Non-saturating GAN with BCE on logits: one D update + one G update, each network
    with its own Adam (lr, betas 0.5, 0.999).

    sample_real() -> (x_real, d_args_real); sample_z() -> z;
    sample_fake_label() -> (g_args, d_args_fake) for conditional models.
    """
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits
    ones = torch.ones(batch, 1)
    zeros = torch.zeros(batch, 1)

    def step():
        real, d_args_real = sample_real()
        g_args, d_args_fake = sample_fake_label() if sample_fake_label else ((), ())
        fake = G(sample_z(), *g_args)

        # D update: real -> 1, fake -> 0
        opt_d.zero_grad(set_to_none=True)
        loss_d = bce(D(real, *d_args_real), ones) + bce(D(fake.detach(), *d_args_fake), zeros)
        loss_d.backward()
        opt_d.step()

        # G update: non-saturating, fake -> 1, through the updated D (frozen)
        set_requires_grad(D, False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = bce(D(fake, *d_args_fake), ones)
        loss_g.backward()
        opt_g.step()
        set_requires_grad(D, True)

    return step


def build_gan2d():
    batch = 256
    G = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 2))
    D = nn.Sequential(nn.Linear(2, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128),
                      nn.LeakyReLU(0.2), nn.Linear(128, 1))
    data = Cycle([eight_gaussians(batch) for _ in range(POOL)])
    step = make_gan_step(G, D, 1e-3, batch, sample_real=lambda: (data.next(), ()),
                         sample_z=lambda: torch.randn(batch, 16))
    return step, batch, "samples"


def build_dcgan(channels=1, size=28):
    batch = 64
    G = dcgan_init(DCGenerator(channels=channels, size=size))
    D = dcgan_init(DCDiscriminator(channels=channels, size=size))
    data = gan_images(batch, channels, size)
    step = make_gan_step(G, D, 2e-4, batch, sample_real=lambda: (data.next(), ()),
                         sample_z=lambda: torch.randn(batch, 100))
    return step, batch, "images"


def build_cgan():
    batch = 64
    G = dcgan_init(DCGenerator(n_classes=10))
    D = dcgan_init(DCDiscriminator(n_classes=10))
    data = labelled_gan_images(batch)

    def sample_real():
        x, y = data.next()
        return x, (F.one_hot(y, 10).float(),)

    def sample_fake_label():
        y = F.one_hot(torch.randint(0, 10, (batch,)), 10).float()
        return (y,), (y,)

    step = make_gan_step(G, D, 2e-4, batch, sample_real,
                         sample_z=lambda: torch.randn(batch, 100),
                         sample_fake_label=sample_fake_label)
    return step, batch, "images"


def build_wgan_gp():
    batch, gp_weight = 64, 10.0
    G = dcgan_init(DCGenerator())
    C = dcgan_init(DCDiscriminator(batchnorm=False))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(C.parameters(), lr=1e-4, betas=(0.5, 0.9))
    data = gan_images(batch)

    def step():
        real = data.next()

        # Critic update: mean C(fake) - mean C(real) + 10 * gradient penalty
        with torch.no_grad():
            fake = G(torch.randn(batch, 100))
        opt_c.zero_grad(set_to_none=True)
        e = torch.rand(batch, 1, 1, 1)
        xhat = (e * real + (1 - e) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(C(xhat).sum(), xhat, create_graph=True)
        penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss_c = C(fake).mean() - C(real).mean() + gp_weight * penalty
        loss_c.backward()  # second-order: backward through the gradient norm
        opt_c.step()

        # G update: -mean C(G(z)), critic frozen
        set_requires_grad(C, False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = -C(G(torch.randn(batch, 100))).mean()
        loss_g.backward()
        opt_g.step()
        set_requires_grad(C, True)

    return step, batch, "images"


def build_vae():
    batch = 128
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = Cycle([torch.rand(batch, 784) for _ in range(POOL)])

    def step():
        x = data.next()
        opt.zero_grad(set_to_none=True)
        logits, mu, logvar = model(x)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = (rec + kl) / batch
        loss.backward()
        opt.step()

    return step, batch, "images"


def cross_entropy_step(model, data):
    """One Adam step (lr 1e-3) of the cross-entropy of model(x) against the next batch's target."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        x, target = data.next()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), target)  # pixelcnn: (B,256,28,28) vs (B,28,28)
        loss.backward()
        opt.step()

    return step


def build_pixelcnn():
    batch = 64
    model = pixelcnn_net()
    levels = [torch.randint(0, 256, (batch, 1, 28, 28)) for _ in range(POOL)]
    data = Cycle([(lv.float() / 255.0, lv.squeeze(1)) for lv in levels])
    return cross_entropy_step(model, data), batch, "images"


def build_classifier():
    batch = 128
    model = classifier_net()
    data = Cycle([(torch.rand(batch, 1, 28, 28), torch.randint(0, 10, (batch,)))
                  for _ in range(POOL)])
    return cross_entropy_step(model, data), batch, "images"


def build_pix2pix():
    """emoji google -> twitter at 64x64 (tools/reference/pix2pix_torch.py): 6 stacked channels."""
    from pix2pix_torch import UNet, make_pix2pix_step, patch_gan, patch_layers, pix2pix_init
    batch = 16
    G = pix2pix_init(UNet(3, 3, 64))
    D = pix2pix_init(patch_gan(6, patch_layers(64)))
    data = gan_images(batch, 6, 64)
    return make_pix2pix_step(G, D, data.next, 3), batch, "images"


def build_progan():
    """64x64 RGB at the final level (tools/reference/progan_torch.py): width 64, z 128, batch 16."""
    from progan_torch import Discriminator, Generator, channels, make_progan_step
    batch, z_dim = 16, 128
    ch = channels(64, 5)
    G, D = Generator(z_dim, ch), Discriminator(ch)
    data = gan_images(batch, 3, 64)
    return make_progan_step(G, D, data.next, z_dim, level=len(ch) - 1), batch, "images"


BUILDERS = {
    "gan2d": build_gan2d, "dcgan": build_dcgan,
    "dcgan-rgb32": lambda: build_dcgan(channels=3, size=32),  # 4w at 4x4, 3 blocks
    "dcgan-rgb64": lambda: build_dcgan(channels=3, size=64),  # 8w at 4x4, 4 blocks
    "wgan-gp": build_wgan_gp,
    "cgan": build_cgan, "vae": build_vae, "pixelcnn": build_pixelcnn,
    "classifier": build_classifier,
    "pix2pix": build_pix2pix,
    "progan": build_progan,
}


def run_model(name, steps, warmup):
    step, batch, unit = BUILDERS[name]()
    fwd_flop = FlopCounter().count(step)  # also serves as the first warm-up step
    res = {"kind": "model", "workload": name, "batch": batch, "unit": unit}
    res.update(summary(time_fn(step, steps, warmup)))
    res[f"{unit}_per_s"] = batch / (res["median_ms"] * 1e-3)
    res["fwd_gflop_per_step"] = fwd_flop / 1e9
    print(f"{name:<12} batch {batch:>3}  median {res['median_ms']:9.3f} ms  "
          f"[{res['min_ms']:.3f} .. {res['max_ms']:.3f}]  n={res['samples']:<4} "
          f"{res[f'{unit}_per_s']:9.0f} {unit}/s   fwd {res['fwd_gflop_per_step']:.3f} GFLOP",
          file=LOG, flush=True)
    return [res]


# --------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------

def kernel_result(group, shape, times, flop=None, nbytes=None):
    res = {"kind": "kernel", "workload": group, "shape": shape}
    res.update(summary(times))
    if res["median_ms"] < 0.01:  # per-op overheads read better in microseconds
        line = (f"{group:<18} {shape:<26} median {res['median_ms'] * 1e3:10.3f} us  "
                f"[{res['min_ms'] * 1e3:.3f} .. {res['max_ms'] * 1e3:.3f}]")
    else:
        line = (f"{group:<18} {shape:<26} median {res['median_ms']:10.4f} ms  "
                f"[{res['min_ms']:.4f} .. {res['max_ms']:.4f}]")
    if flop is not None:
        res["gflop"] = flop / 1e9
        res["gflops_median"] = flop / (res["median_ms"] * 1e-3) / 1e9
        res["gflops_best"] = flop / (res["min_ms"] * 1e-3) / 1e9
        line += f"  {res['gflops_median']:8.1f} GFLOP/s (best {res['gflops_best']:.1f})"
    if nbytes is not None:
        res["gbytes"] = nbytes / 1e9
        res["gbps_median"] = nbytes / (res["median_ms"] * 1e-3) / 1e9
        res["gbps_best"] = nbytes / (res["min_ms"] * 1e-3) / 1e9
        line += f"  {res['gbps_median']:8.1f} GB/s (best {res['gbps_best']:.1f})"
    print(line, file=LOG, flush=True)
    return res


def fwd_bwd_results(group, shape, module, x, fwd_flop, steps, warmup):
    """Forward alone (autograd recording, as in training) and forward+backward
    (grads of input, weight and bias; backward = 2 x forward FLOPs)."""
    y = module(x)
    grad_out = torch.randn_like(y)

    def fwd():
        module(x)

    def fwd_bwd():
        x.grad = None
        module.zero_grad(set_to_none=True)
        module(x).backward(grad_out)

    return [
        kernel_result(group, shape + " fwd", time_fn(fwd, steps, warmup, 2e-3), flop=fwd_flop),
        kernel_result(group, shape + " fwd+bwd", time_fn(fwd_bwd, steps, warmup, 2e-3),
                      flop=3 * fwd_flop),
    ]



# The convolution rows: the module, its input's shape, the row's label, the forward FLOPs.
CONV_ROWS = {
    "conv2d": (lambda: nn.Conv2d(64, 128, 4, 2, 1), (64, 64, 14, 14), "64x64x14x14->128 k4s2p1",
               2 * 64 * 128 * 7 * 7 * 64 * 4 * 4),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(128, 64, 4, 2, 1), (64, 128, 7, 7),
                         "64x128x7x7->64 k4s2p1", 2 * 64 * 128 * 7 * 7 * 64 * 4 * 4),
    "masked_conv7x7": (lambda: MaskedConv2d("B", 64, 64, 7), (64, 64, 28, 28), "64x64x28x28->64 k7p3",
                       2 * 64 * 64 * 28 * 28 * 64 * 7 * 7),  # dense 7x7 count
}

def lstm_cell_results(steps, warmup):
    """Row LSTM's step: one LSTM cell over a batch of 16 rows of 28 pixels (N = 448), H = 64.
    "cell": nn.LSTMCell(64, 64), its two matmuls included; "pointwise": the ops aten's CPU
    LSTMCell runs after them (chunk, sigmoid, tanh, the products), on given gates [N, 4H].
    fwd+bwd: the gradients of every input (and of the cell's weights)."""
    n, hidden = 16 * 28, 64
    cell = nn.LSTMCell(hidden, hidden)
    x = torch.randn(n, hidden, requires_grad=True)
    h = torch.randn(n, hidden, requires_grad=True)
    c = torch.randn(n, hidden, requires_grad=True)
    gates = torch.randn(n, 4 * hidden, requires_grad=True)
    gh, gc = torch.randn(n, hidden), torch.randn(n, hidden)

    def pointwise(g, c_prev):
        i, f, gg, o = g.chunk(4, 1)
        c_next = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(c_next), c_next

    def fwd_bwd(run, leaves, params):
        def fn():
            for t in leaves:
                t.grad = None
            params.zero_grad(set_to_none=True)
            torch.autograd.backward(run(), (gh, gc))
        return fn

    rows = {
        "pointwise": (lambda: pointwise(gates, c), [gates, c], 0),
        "cell": (lambda: cell(x, (h, c)), [x, h, c], 2 * 2 * n * hidden * 4 * hidden),
    }
    out = []
    for label, (run, leaves, flop) in rows.items():
        shape = f"{n}x{hidden} {label}"
        out.append(kernel_result("lstm_cell", shape + " fwd", time_fn(run, steps, warmup, 2e-3),
                                 flop=flop or None))
        out.append(kernel_result("lstm_cell", shape + " fwd+bwd",
                                 time_fn(fwd_bwd(run, leaves, cell), steps, warmup, 2e-3),
                                 flop=3 * flop or None))
    return out


def run_kernel(name, steps, warmup):
    out = []
    if name == "sgemm":
        shapes = [(s, s, s) for s in (256, 512, 1024, 2048)]
        shapes += [(64, 6272, 100), (64, 1, 6272), (128, 400, 784)]
        for m, n, k in shapes:
            a, b, c = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
            fn = lambda: torch.mm(a, b, out=c)  # noqa: E731
            out.append(kernel_result("sgemm", f"{m}x{n}x{k}",
                                     time_fn(fn, steps, warmup, 2e-3), flop=2 * m * n * k))
    elif name in CONV_ROWS:
        make_conv, x_shape, label, flop = CONV_ROWS[name]
        conv = make_conv()
        x = torch.randn(*x_shape, requires_grad=True)
        out += fwd_bwd_results(name, label, conv, x, flop, steps, warmup)
    elif name == "add":
        n = 16 * 1024 * 1024
        a, b, c = torch.randn(n), torch.randn(n), torch.empty(n)
        fn = lambda: torch.add(a, b, out=c)  # noqa: E731
        out.append(kernel_result("add", "16Mi f32, out=", time_fn(fn, steps, warmup),
                                 nbytes=3 * 4 * n))
    elif name == "sum":
        n = 16 * 1024 * 1024
        a = torch.randn(n)
        out.append(kernel_result("sum", "16Mi f32", time_fn(lambda: a.sum(), steps, warmup),
                                 nbytes=4 * n))
    elif name == "softmax_xent":
        rows, classes = 64 * 784, 256
        logits = torch.randn(rows, classes, requires_grad=True)
        target = torch.randint(0, classes, (rows,))

        def fwd():
            F.cross_entropy(logits, target)

        def fwd_bwd():
            logits.grad = None
            F.cross_entropy(logits, target).backward()

        shape = f"{rows}x{classes}"
        out.append(kernel_result("softmax_xent", shape + " fwd",
                                 time_fn(fwd, steps, warmup, 2e-3)))
        out.append(kernel_result("softmax_xent", shape + " fwd+bwd",
                                 time_fn(fwd_bwd, steps, warmup, 2e-3)))
    elif name == "attention":
        b, h, t, d = 4, 4, 784, 32
        q, k, v = (torch.randn(b, h, t, d, requires_grad=True) for _ in range(3))
        grad_out = torch.randn(b, h, t, d)
        hidden = torch.ones(t, t, dtype=torch.bool).triu(1)  # key j > query i

        def attention():
            scores = (q @ k.transpose(-2, -1)) * d ** -0.5
            return torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1) @ v

        def fwd_bwd():
            q.grad = k.grad = v.grad = None
            attention().backward(grad_out)

        shape = f"{b}x{h}x{t}x{d}"
        out.append(kernel_result("attention", shape + " forward", time_fn(attention, steps, warmup, 2e-3)))
        out.append(kernel_result("attention", shape + " forward+backward", time_fn(fwd_bwd, steps, warmup, 2e-3)))
    elif name == "lstm_cell":
        out += lstm_cell_results(steps, warmup)
    elif name == "overhead":
        a, b = torch.randn(16), torch.randn(16)
        out.append(kernel_result("overhead", "tiny add 16 (a+b)",
                                 time_fn(lambda: a + b, steps, warmup, 5e-3)))
        mlp = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                            nn.Linear(128, 128))
        x = torch.randn(256, 128)
        grad_out = torch.randn(256, 128)

        def mlp_fwd_bwd():
            mlp.zero_grad(set_to_none=True)
            mlp(x).backward(grad_out)

        # fwd 3 layers; bwd: weight grads for 3, input grads for 2 (x needs none)
        layer = 2 * 256 * 128 * 128
        out.append(kernel_result("overhead", "mlp 3x128 b256 fwd+bwd",
                                 time_fn(mlp_fwd_bwd, steps, warmup, 2e-3),
                                 flop=(3 + 3 + 2) * layer))
    return out


# --------------------------------------------------------------------------

def config_info():
    cfg = torch.__config__.show()
    build = [line.strip() for line in cfg.splitlines()
             if "MKL-DNN" in line or "CPU capability" in line or "OpenMP" in line]
    build += [f for f in cfg.replace(",", "\n").split("\n")
              if "BLAS_INFO" in f or "USE_MKLDNN" in f]
    return {
        "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "processor": _cpu_name(), "logical_cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "build": [b.split("Build settings:")[-1].strip(" -") for b in build],
        "blas_library": _loaded_blas(),
    }


def _loaded_blas():
    """Paths of the BLAS shared libraries mapped into this process."""
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # make sure BLAS is loaded
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path)
                if "blas" in name or "mkl_" in name or "libdnnl" in name:
                    libs.add(path)
    except OSError:
        pass
    return sorted(libs)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(ARGS.seed)
    np.random.seed(ARGS.seed)
    info = config_info()
    print(f"torch {info['torch']}  threads {info['threads']}  cpu {info['processor']}",
          file=LOG, flush=True)
    print("libraries: " + " ".join(info["blas_library"]), file=LOG, flush=True)
    if ARGS.threads > 1 and any("openblas-pthread" in p for p in info["blas_library"]):
        print("warning: torch is using the pthread build of OpenBLAS next to its OpenMP pool;"
              " expect oversubscription (see the module docstring)", file=LOG, flush=True)
    results = []
    for name in ARGS.names:
        if name in MODELS:
            steps, warmup = MODEL_STEPS[name]
            results += run_model(name, ARGS.steps or steps,
                                 warmup if ARGS.warmup is None else ARGS.warmup)
        else:
            steps, warmup = KERNEL_STEPS
            results += run_kernel(name, ARGS.steps or steps,
                                  warmup if ARGS.warmup is None else ARGS.warmup)
    if ARGS.json:
        doc = json.dumps({"config": info, "results": results}, indent=1)
        if ARGS.json == "-":
            print(doc)
        else:
            with open(ARGS.json, "w") as f:
                f.write(doc + "\n")


if __name__ == "__main__":
    main()
