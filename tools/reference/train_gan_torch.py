#!/usr/bin/python3
"""Train minigen's dcgan or cgan with PyTorch on an exported image set; write samples for
`minigen eval --samples`.

The same model as `minigen train dcgan|cgan --data ...`: the networks of
models/gan/networks.h at the images' size (tools/reference/common.py: DCGenerator,
DCDiscriminator, with minigen's parameter names), N(0, 0.02) conv/linear weights,
N(1, 0.02) BatchNorm scale and shift 0 (biases keep PyTorch's default init), BCE on
logits with the non-saturating G loss, Adam lr 2e-4 betas (0.5, 0.999) for each network,
batch 64, z of 100, one D update (real and G(z).detach()) + one G update (through the
updated D, its weights frozen) per step, images scaled to [-1, 1] as 2 v / 255 - 1, the
set reshuffled every epoch (the last partial batch left out). cgan: the one-hot label
goes into G beside z and into D's last layer beside the features, plus the projection
term <embed(y), h> (models/gan/networks.cpp; --no-projection leaves it out, as
workloads.md's cgan); the fakes' labels are drawn uniformly from the classes.

Input: the training split as minigen trains on it, from `minigen data export`:
uint8 [N, C, S, S] images and int64 (or uint8) [N] labels. Output: --samples images
of G in eval mode (BatchNorm running statistics, as minigen samples), uint8
[M, C, S, S] (round((x + 1) / 2 * 255)), their labels for cgan (--sample-labels), a
PNG grid of the first 64 (--grid, needs Pillow) and the timing (--json).

The emoji comparison, end to end (the lead runs the long trainings):
  # 1. the exact training split minigen trains on, as .npy
  build/tools/minigen data export --data emoji --image-size 64 --split train \\
      --out emoji_train.npy --labels emoji_train_labels.npy
  # 2. PyTorch trains the same cgan (width 32) and writes 5,000 samples
  /usr/bin/python3 tools/reference/train_gan_torch.py --model cgan --width 32 \\
      --images emoji_train.npy --labels emoji_train_labels.npy --steps 20000 --threads 2 \\
      --samples 5000 --out torch_cgan.npy --sample-labels torch_cgan_labels.npy --grid torch_cgan.png
  # 3. minigen trains the same model and steps (its width is an option)
  echo '{"width": 32}' > w32.json
  build/tools/minigen train cgan --data emoji --config w32.json --steps 20000 --threads 2 --out runs/cgan32
  # 4. score both with minigen's evaluator of the emoji set (the same classifier and the
  #    same held-out images for both)
  build/tools/minigen eval --samples torch_cgan.npy --data emoji
  build/tools/minigen eval cgan --checkpoint runs/cgan32/checkpoint.safetensors
The script prints the minigen command of step 3 for the options it was given.

Needs Debian's python3-torch and numpy (Pillow for --grid). It runs torch in the reference
configuration of torch_env.py (OpenBLAS's OpenMP build and jemalloc: apt-get install
libopenblas0-openmp libjemalloc2), re-executing itself once to preload them; with the
reference BLAS that Debian may select instead, PyTorch's steps are about 4x slower.
MINIGEN_TORCH_PLAIN=1 keeps the environment as it is.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from torch_env import reexec_in_tuned_env  # tools/reference/torch_env.py


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["dcgan", "cgan"], default="dcgan")
    p.add_argument("--images", required=True, help="uint8 .npy [N, C, S, S] (minigen data export --out)")
    p.add_argument("--labels", help="int64 or uint8 .npy [N] (minigen data export --labels); cgan needs it")
    p.add_argument("--classes", type=int, default=0,
                   help="cgan's class count (default: the largest label + 1; minigen uses the data set's)")
    p.add_argument("--width", type=int, default=32, help="network width w (minigen option 'width'; default 32)")
    p.add_argument("--z-dim", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--no-projection", action="store_true", help="cgan without the projection term")
    p.add_argument("--hflip", action="store_true", help="mirror each real image with probability 1/2 (minigen --hflip)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=5000, help="samples to write (0: none)")
    p.add_argument("--out", default="torch_samples.npy", help="the samples: uint8 .npy [M, C, S, S]")
    p.add_argument("--sample-labels", help="cgan: the samples' labels as int64 .npy [M]")
    p.add_argument("--grid", help="a PNG grid of the first 64 samples (Pillow)")
    p.add_argument("--json", help="write the settings and timings to this JSON file")
    args = p.parse_args()
    for name in ("width", "z_dim", "batch_size", "steps", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.samples < 0:
        p.error(f"--samples must be >= 0, got {args.samples}")
    if args.model == "cgan" and not args.labels:
        p.error("--model cgan needs --labels")
    return args


def load_data(args):
    """The images (uint8 [N, C, S, S]) and labels (int64 [N] or None), checked."""
    images = np.load(args.images, allow_pickle=False)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3) \
            or images.shape[2] != images.shape[3] or images.shape[0] < args.batch_size:
        sys.exit(f"{args.images}: want uint8 [N >= {args.batch_size}, 1 or 3, S, S], got "
                 f"{images.dtype} {list(images.shape)}")
    labels = None
    if args.labels:
        labels = np.load(args.labels, allow_pickle=False)
        if labels.dtype not in (np.int64, np.uint8) or labels.shape != (images.shape[0],) \
                or (labels.size and labels.min() < 0):
            sys.exit(f"{args.labels}: want int64 or uint8 [{images.shape[0]}] labels >= 0, got "
                     f"{labels.dtype} {list(labels.shape)}")
        labels = labels.astype(np.int64)
    return images, labels


def minigen_command(args, size, channels):
    options = {"width": args.width}
    if args.z_dim != 100:
        options["z_dim"] = args.z_dim
    if args.model == "cgan" and args.no_projection:
        options["projection"] = False
    flags = f" --image-size {size} --channels {channels}"
    flags += " --hflip" if args.hflip else ""
    flags += f" --batch-size {args.batch_size}" if args.batch_size != 64 else ""
    flags += f" --lr {args.lr:g}" if args.lr != 2e-4 else ""
    return (f"echo '{json.dumps(options)}' > options.json; minigen train {args.model} --data DATA{flags} "
            f"--config options.json --steps {args.steps} --threads {args.threads} --seed {args.seed}")


def write_grid(path, samples):
    from PIL import Image
    n = min(64, samples.shape[0])
    cols = int(np.ceil(np.sqrt(n)))
    rows = (n + cols - 1) // cols
    c, s = samples.shape[1], samples.shape[2]
    grid = np.zeros((rows * (s + 2) + 2, cols * (s + 2) + 2, c), np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[2 + r * (s + 2):2 + r * (s + 2) + s, 2 + k * (s + 2):2 + k * (s + 2) + s] = \
            samples[i].transpose(1, 2, 0)
    Image.fromarray(grid[:, :, 0] if c == 1 else grid).save(path)


def save_npy(path, array):
    """Whole or not at all: a temporary beside the file, then a rename."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))  # before torch loads its pools
    import torch
    import torch.nn.functional as F
    from common import DCDiscriminator, DCGenerator, dcgan_init, image_shape  # tools/reference/common.py

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images, labels = load_data(args)
    n, channels, size = images.shape[0], images.shape[1], images.shape[2]
    try:
        image_shape(size)
    except ValueError as e:
        sys.exit(f"{args.images}: {e}")
    conditional = args.model == "cgan"
    classes = 0
    if conditional:
        classes = args.classes or int(labels.max()) + 1
        if classes < 2 or labels.max() >= classes:
            sys.exit(f"{args.labels}: labels in [0, {labels.max()}] do not fit {classes} classes (need >= 2)")

    G = dcgan_init(DCGenerator(args.z_dim, classes, args.width, channels, size))
    D = dcgan_init(DCDiscriminator(True, classes, args.width, channels, size,
                                   projection=conditional and not args.no_projection))
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    print(f"{args.model} {size}x{size}x{channels}, width {args.width}, {classes or 'no'} classes: "
          f"G {count(G):,} and D {count(D):,} parameters; {n} training images", file=sys.stderr)
    print("minigen equivalent: " + minigen_command(args, size, channels), file=sys.stderr)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits

    x_all = torch.from_numpy(images)  # uint8, scaled per batch
    y_all = torch.from_numpy(labels) if conditional else None
    batch = args.batch_size
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def onehot(y):
        return F.one_hot(y, classes).float() if conditional else None

    step_s = []
    step, t_start = 0, time.perf_counter()
    while step < args.steps:
        order = torch.randperm(n)
        for b in range(n // batch):
            if step >= args.steps:
                break
            t0 = time.perf_counter()
            idx = order[b * batch:(b + 1) * batch]
            real = x_all[idx].float() * (2.0 / 255.0) - 1.0
            if args.hflip:
                flip = torch.rand(batch) < 0.5
                real = torch.where(flip.view(-1, 1, 1, 1), real.flip(3), real)
            y_real = onehot(y_all[idx]) if conditional else None
            y_fake = onehot(torch.randint(0, classes, (batch,))) if conditional else None
            fake = G(torch.randn(batch, args.z_dim), y_fake)

            opt_d.zero_grad(set_to_none=True)
            loss_d = bce(D(real, y_real), ones) + bce(D(fake.detach(), y_fake), zeros)
            loss_d.backward()
            opt_d.step()

            for p in D.parameters():
                p.requires_grad_(False)
            opt_g.zero_grad(set_to_none=True)
            loss_g = bce(D(fake, y_fake), ones)  # non-saturating
            loss_g.backward()
            opt_g.step()
            for p in D.parameters():
                p.requires_grad_(True)
            step += 1
            step_s.append(time.perf_counter() - t0)
            if step % 100 == 0 or step == args.steps:
                print(f"step {step}/{args.steps}  loss_d {loss_d.item():.3f}  loss_g {loss_g.item():.3f}  "
                      f"{statistics.median(step_s[-100:]) * 1e3:.0f} ms/step", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t_start
    timed = step_s[5:] if len(step_s) > 10 else step_s  # the first steps warm up the allocator and oneDNN
    ms_per_step = statistics.median(timed) * 1e3

    result = {"model": args.model, "image_size": size, "channels": channels, "width": args.width,
              "classes": classes, "steps": args.steps, "threads": args.threads, "batch_size": batch,
              "seconds": seconds, "median_ms_per_step": ms_per_step,
              "parameters": {"G": count(G), "D": count(D)}, "torch": torch.__version__}
    if args.samples > 0:
        G.eval()
        out, out_labels = [], []
        with torch.no_grad():
            for i in range(0, args.samples, 500):
                m = min(500, args.samples - i)
                y = torch.randint(0, classes, (m,)) if conditional else None  # drawn before z, as minigen
                x = G(torch.randn(m, args.z_dim), onehot(y) if conditional else None)
                out.append(torch.floor((x + 1.0) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8))
                if conditional:
                    out_labels.append(y)
        samples = torch.cat(out).numpy()
        save_npy(args.out, samples)
        result.update(samples=args.out, sample_count=int(samples.shape[0]))
        if conditional and args.sample_labels:
            save_npy(args.sample_labels, torch.cat(out_labels).numpy().astype(np.int64))
            result["sample_labels"] = args.sample_labels
        if args.grid:
            write_grid(args.grid, samples)
            result["grid"] = args.grid
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(f"{args.steps} steps in {seconds:.1f} s (median {ms_per_step:.0f} ms/step, {args.threads} threads)"
          + (f"; {args.samples} samples -> {args.out}" if args.samples > 0 else ""))


if __name__ == "__main__":
    reexec_in_tuned_env()  # before torch loads: OpenBLAS (OpenMP) and jemalloc
    main()
