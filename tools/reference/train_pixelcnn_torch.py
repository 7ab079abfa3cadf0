#!/usr/bin/python3
"""The PyTorch reference for `minigen train pixelcnn`: the same model trained for the
same number of steps, scored the same way, so the two can be compared (docs/pixelcnn.md).

Model (docs/workloads.md, as tools/reference/common.py's pixelcnn_net): MaskedConv2d A
(1->64, 7x7, padding 3, no bias) BatchNorm2d ReLU, 7 x [MaskedConv2d B (64->64) BatchNorm2d
ReLU], Conv2d(64, 256, 1). PyTorch's default init (kaiming_uniform a=sqrt(5) on the whole
7x7 weight; minigen's Conv2d draws from the same distributions). Input: the levels / 255
in [0, 1]; target: the levels; loss: cross-entropy over 256 levels, mean over pixels.
Adam lr 1e-3 (betas 0.9, 0.999), batch 64, a fresh shuffle every epoch with the last
partial batch dropped, as minigen's trainer does (the order itself differs).

Score: the test negative log-likelihood in bits per dimension, in eval mode (BatchNorm's
running statistics), over the first --test-images test images (default all 10,000):
  bits/dim = sum over pixels of cross-entropy (nats) / (images * 784 * ln 2)

Run with Debian's PyTorch (python3-torch), at most 2 threads:
  nice /usr/bin/python3 tools/reference/train_pixelcnn_torch.py --steps 300 --threads 2
Reads the IDX gzip files directly (default /usr/share/datasets/fashion-mnist).
"""
import json
import math
import pathlib
import statistics
import time

from idx import read_split, set_thread_env, training_arg_parser  # tools/reference/idx.py
from torch_env import reexec_in_tuned_env  # tools/reference/torch_env.py


def parse_args():
    p = training_arg_parser(__doc__.split("\n")[0], batch_size=64, lr=1e-3)
    p.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300)")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--test-images", type=int, default=10000, help="score the first N test images")
    p.add_argument("--eval-batch", type=int, default=500)
    p.add_argument("--log-every", type=int, default=25)
    return p.parse_args()


reexec_in_tuned_env()  # before torch loads: OpenBLAS (OpenMP) and jemalloc
ARGS = parse_args()
set_thread_env(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import pixelcnn_net  # noqa: E402  (tools/reference/common.py)


def load_levels(split):
    """uint8 levels [N, 1, 28, 28] as int64."""
    return torch.from_numpy(read_split(ARGS.data, split).astype(np.int64)).reshape(-1, 1, 28, 28)


def test_bits_per_dim(model, levels):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(levels), ARGS.eval_batch):
            lv = levels[start:start + ARGS.eval_batch]
            logits = model(lv.float() / 255.0)
            total += F.cross_entropy(logits, lv.squeeze(1), reduction="sum").item()
    model.train()
    return total / (len(levels) * 784 * math.log(2))


def main():
    torch.manual_seed(ARGS.seed)
    torch.set_num_threads(ARGS.threads)
    train = load_levels("train")
    test = load_levels("test")[:ARGS.test_images]
    model = pixelcnn_net(ARGS.channels)
    opt = torch.optim.Adam(model.parameters(), lr=ARGS.lr)
    generator = torch.Generator().manual_seed(ARGS.seed)
    per_epoch = len(train) // ARGS.batch_size
    step_ms, order = [], None
    start = time.perf_counter()
    for step in range(ARGS.steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(train), generator=generator)
        idx = order[(step % per_epoch) * ARGS.batch_size:(step % per_epoch + 1) * ARGS.batch_size]
        lv = train[idx]
        x, target = lv.float() / 255.0, lv.squeeze(1)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        step_ms.append((time.perf_counter() - t0) * 1e3)
        if (step + 1) % ARGS.log_every == 0 or step + 1 == ARGS.steps:
            print(f"step {step + 1:5d}  loss {loss.item():.4f} nats  {loss.item() / math.log(2):.4f} bits/dim  "
                  f"{step_ms[-1]:.0f} ms/step", flush=True)
    train_s = time.perf_counter() - start
    t0 = time.perf_counter()
    bpd = test_bits_per_dim(model, test)
    eval_s = time.perf_counter() - t0
    result = {
        "framework": f"pytorch {torch.__version__}", "steps": ARGS.steps, "batch_size": ARGS.batch_size,
        "threads": ARGS.threads, "test_images": len(test), "test_bits_per_dim": bpd,
        "final_train_loss_nats": loss.item(), "ms_per_step_median": statistics.median(step_ms),
        "ms_per_step_mean": statistics.fmean(step_ms), "train_s": train_s, "eval_s": eval_s,
    }
    print(json.dumps(result, indent=1))
    if ARGS.json:
        pathlib.Path(ARGS.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
