#!/usr/bin/python3
"""Train workloads.md's dcgan with PyTorch and write samples for `minigen eval --samples`.

The same networks, init, loss, optimizer and batch as minigen's dcgan (and as
tools/reference/torch_ref.py): G and D of workloads.md, N(0, 0.02) conv/linear
weights, N(1, 0.02) BatchNorm scale, BCE on logits with the non-saturating G
loss, Adam lr 2e-4 betas (0.5, 0.999), batch 64, one D update + one G update
per step, Fashion-MNIST scaled to [-1, 1], reshuffled every epoch.

Writes N samples of G (eval mode, as minigen samples) as float32 [N, 1, 28, 28]
in [0, 1] to an .npy file:
  /usr/bin/python3 tools/reference/train_dcgan_torch.py --epochs 5 --out torch_dcgan.npy
  minigen eval --samples torch_dcgan.npy --json
Needs only Debian's python3-torch and numpy; reads the IDX files directly.
"""

import argparse
import os
import sys
import time

import numpy as np

from idx import read_idx  # tools/reference/idx.py
from torch_env import reexec_in_tuned_env  # tools/reference/torch_env.py


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: --epochs)")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.environ.get("MINIGEN_DATA", "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--out", default="torch_dcgan.npy")
    return p.parse_args()


def main():
    args = parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from common import dcgan_init  # tools/reference/common.py

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    G = dcgan_init(nn.Sequential(
        nn.Linear(100, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh()))
    D = dcgan_init(nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1)))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))[:, None]  # [N, 1, 28, 28]
    x_all = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    batch = 64
    per_epoch = x_all.shape[0] // batch
    total = args.steps if args.steps > 0 else args.epochs * per_epoch
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    bce = F.binary_cross_entropy_with_logits

    t0 = time.time()
    step = 0
    while step < total:
        order = torch.randperm(x_all.shape[0])
        for b in range(per_epoch):
            if step >= total:
                break
            real = x_all[order[b * batch:(b + 1) * batch]]
            fake = G(torch.randn(batch, 100))
            opt_d.zero_grad(set_to_none=True)
            loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            loss_d.backward()
            opt_d.step()
            for p in D.parameters():
                p.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            loss_g = bce(D(fake), ones)
            loss_g.backward()
            opt_g.step()
            for p in D.parameters():
                p.requires_grad_(True)
            step += 1
            if step % 100 == 0 or step == total:
                el = time.time() - t0
                print(f"step {step}/{total}  loss_d {loss_d.item():.3f}  loss_g {loss_g.item():.3f}  "
                      f"{el / step * 1000:.0f} ms/step", file=sys.stderr, flush=True)
    seconds = time.time() - t0

    G.eval()
    out = []
    with torch.no_grad():
        for i in range(0, args.samples, 500):
            out.append((G(torch.randn(min(500, args.samples - i), 100)) + 1.0) / 2.0)
    samples = torch.cat(out).clamp(0, 1).numpy().astype(np.float32)
    np.save(args.out, samples)
    print(f"{total} steps in {seconds:.0f} s ({seconds / total * 1000:.0f} ms/step, {args.threads} threads); "
          f"{samples.shape[0]} samples -> {args.out}")


if __name__ == "__main__":
    reexec_in_tuned_env()  # before torch loads: OpenBLAS (OpenMP) and jemalloc
    main()
