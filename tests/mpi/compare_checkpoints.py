#!/usr/bin/env python3
"""compare_checkpoints.py A B [--tolerance T]: the model tensors of two minigen checkpoints,
equal bit for bit (T = 0, the default) or within T (max |a - b| / (1 + max |a|) per tensor).
Prints the worst tensor; exits 1 when they differ by more."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from read_checkpoint import load_checkpoint  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("a")
p.add_argument("b")
p.add_argument("--tolerance", type=float, default=0.0)
args = p.parse_args()
a, b = load_checkpoint(args.a), load_checkpoint(args.b)
if a["step"] != b["step"] or sorted(a["model"]) != sorted(b["model"]):
    sys.exit(f"{args.a} and {args.b} hold different steps or tensors")
worst, where, bitwise = 0.0, "", True
for k, x in a["model"].items():
    y = b["model"][k]
    bitwise = bitwise and x.tobytes() == y.tobytes()
    if x.size == 0:
        continue
    d = float(np.max(np.abs(x.astype(np.float64) - y))) / (1.0 + float(np.max(np.abs(x))))
    if d > worst:
        worst, where = d, k
ok = bitwise if args.tolerance == 0 else worst <= args.tolerance
print(f"{len(a['model'])} tensors at step {a['step']}: {'bit for bit equal' if bitwise else f'worst {worst:.3g} in {where}'}"
      f" ({'ok' if ok else 'FAILED'}, tolerance {args.tolerance:g})")
sys.exit(0 if ok else 1)
