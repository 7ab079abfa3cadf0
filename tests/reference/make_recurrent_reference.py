#!/usr/bin/env python3
"""PyTorch's numbers for tests/test_recurrent_ops.cpp: the LSTM cell, max_pool2d's indices and
the loss options (cross_entropy's ignore_index / label_smoothing / weight, BCE's pos_weight).

Inputs are closed forms of the element index k (the test builds the same ones), in float64:
    wave(n, a, b, scale) = [scale * sin(a * k + b) for k in range(n)]
The script writes tests/reference/fixtures/recurrent_ops_reference.json: each entry a flat
list (row-major). Floats are written as Python's repr, which reads back to the same double.

    /usr/bin/python3 tests/reference/make_recurrent_reference.py
"""
import json
import math
import pathlib

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def wave(shape, a, b, scale=1.0):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(a * k + b) for k in range(n)]).reshape(shape)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


out = {}

# ---- lstm_cell: PyTorch's own cell (torch.lstm_cell) with w_ih = I, w_hh = 0, so that its
# gates are exactly `gates`; the loss sum(h * a + c * b) gives the backward's grad_h = a, grad_c = b.
N, H = 3, 5
gates = wave((N, 4 * H), 0.7, 0.3, 3.0).requires_grad_()
c_prev = wave((N, H), 0.9, 1.1, 2.0).requires_grad_()
h_prev = torch.zeros(N, H)
h, c = torch.lstm_cell(gates, (h_prev, c_prev), torch.eye(4 * H), torch.zeros(4 * H, H))
a, b = wave((N, H), 0.3, 0.2), wave((N, H), 0.5, 0.7)
(h * a + c * b).sum().backward()
out["lstm_h"], out["lstm_c"] = flat(h), flat(c)
out["lstm_grad_gates"], out["lstm_grad_c_prev"] = flat(gates.grad), flat(c_prev.grad)

# ---- max_pool2d's indices, with ties (values rounded to integers)
x = torch.round(wave((1, 2, 5, 6), 1.3, 0.0, 3.0))
for name, (k, s, p) in {"pool_k3s2p1": (3, 2, 1), "pool_k2s2": (2, 2, 0), "pool_k2s1": (2, 1, 0)}.items():
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    out[name + "_values"], out[name + "_indices"] = flat(y), [int(v) for v in idx.reshape(-1)]

# ---- cross_entropy options: logits [4, 5] and [2, 3, 2, 2] (N, C, H, W)
logits = wave((4, 5), 0.9, 0.4, 2.0)
target = torch.tensor([1, 2, 4, 0])
weight = torch.tensor([0.5 + 0.25 * c for c in range(5)])
cases = {
    "ce_ignore": dict(ignore_index=2),
    "ce_smooth": dict(label_smoothing=0.1),
    "ce_weight": dict(weight=weight),
    "ce_all": dict(ignore_index=2, label_smoothing=0.2, weight=weight),
}
for name, kw in cases.items():
    for red in ("mean", "sum", "none"):
        xl = logits.clone().requires_grad_()
        loss = F.cross_entropy(xl, target, reduction=red, **kw)
        out[f"{name}_{red}"] = flat(loss)
        (loss * wave(loss.shape, 0.6, 0.1) if red == "none" else loss).sum().backward()
        out[f"{name}_{red}_grad"] = flat(xl.grad)
spatial = wave((2, 3, 2, 2), 1.1, 0.2, 2.0).requires_grad_()
spatial_target = torch.tensor([[[0, 2], [-100, 1]], [[2, -100], [0, 0]]])
loss = F.cross_entropy(spatial, spatial_target, label_smoothing=0.3, weight=torch.tensor([1.0, 2.0, 0.5]))
loss.backward()
out["ce_spatial_mean"], out["ce_spatial_mean_grad"] = flat(loss), flat(spatial.grad)

# ---- binary_cross_entropy_with_logits with pos_weight [3] over logits [2, 3]
bl = wave((2, 3), 1.7, 0.5, 4.0).requires_grad_()
bt = (wave((2, 3), 0.8, 0.1) + 1) / 2
pw = torch.tensor([0.5, 1.0, 3.0])
for red in ("mean", "none"):
    bl.grad = None
    loss = F.binary_cross_entropy_with_logits(bl, bt, pos_weight=pw, reduction=red)
    out[f"bce_pos_weight_{red}"] = flat(loss)
    loss.sum().backward()
    out[f"bce_pos_weight_{red}_grad"] = flat(bl.grad)

path = pathlib.Path(__file__).parent / "fixtures" / "recurrent_ops_reference.json"
path.write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()) + "\n}\n")
print(f"wrote {path} ({len(out)} entries) with torch {torch.__version__}")
