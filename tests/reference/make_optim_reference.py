#!/usr/bin/env python3
"""Reference numbers for tests/test_optim.cpp.

Every optimizer runs a few steps on a known quadratic,
    f(x) = 0.5 * sum(a_i * x_i^2) + b . x,   grad f = a * x + b,
with the update rules written out below in float64 (standard library only: these
formulas are the reference, not any library). The schedulers are their closed forms.
The script writes them to tests/reference/fixtures/optim_reference.json, which the test
reads: "<config>" is x after each step (flattened), "<schedule>" the learning rates of
two groups at each epoch (row-major: epoch, group). Floats are written as Python's repr,
which reads back to the same double.

Where PyTorch is importable (/usr/bin/python3 -c "import torch"), it also runs
torch.optim and torch.optim.lr_scheduler on the same problems, in float64, and
fails if they disagree with the formulas here by more than 1e-12 (relative): the
literals are then PyTorch's numbers too.

    python3 tests/reference/make_optim_reference.py
"""
import json
import math
import pathlib
import sys

A = [1.0, 2.0, 0.5]
B = [0.5, -1.0, 0.25]
X0 = [1.0, -2.0, 3.0]
STEPS = 5


def grad(x):
    return [a * xi + b for a, xi, b in zip(A, x, B)]


# ---- the update rules, element by element, in torch.optim's order of operations ----
def sgd(x, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    x = list(x)
    buf = None
    out = []
    for _ in range(steps):
        g = grad(x)
        d = [gi + weight_decay * xi for gi, xi in zip(g, x)] if weight_decay else g
        if momentum:
            if buf is None:
                buf = list(d)
            else:
                buf = [bi * momentum + (1 - dampening) * di for bi, di in zip(buf, d)]
            d = [di + momentum * bi for di, bi in zip(d, buf)] if nesterov else list(buf)
        x = [xi + (-lr) * di for xi, di in zip(x, d)]
        out.append(x)
    return out


def adam(x, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    x = list(x)
    m = [0.0] * len(x)
    v = [0.0] * len(x)
    vmax = [0.0] * len(x)
    out = []
    for t in range(1, steps + 1):
        g = grad(x)
        if decoupled:
            x = [xi * (1 - lr * weight_decay) for xi in x]
        elif weight_decay:
            g = [gi + weight_decay * xi for gi, xi in zip(g, x)]
        m = [mi * beta1 + (1 - beta1) * gi for mi, gi in zip(m, g)]
        v = [vi * beta2 + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
        bc1 = 1 - beta1 ** t
        bc2_sqrt = math.sqrt(1 - beta2 ** t)
        step_size = lr / bc1
        if amsgrad:
            vmax = [max(a, b) for a, b in zip(vmax, v)]
            v_hat = vmax
        else:
            v_hat = v
        denom = [math.sqrt(vi) / bc2_sqrt + eps for vi in v_hat]
        x = [xi + (-step_size) * mi / di for xi, mi, di in zip(x, m, denom)]
        out.append(x)
    return out


def rmsprop(x, steps, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    x = list(x)
    sq = [0.0] * len(x)
    gavg = [0.0] * len(x)
    buf = [0.0] * len(x)
    out = []
    for _ in range(steps):
        g = grad(x)
        if weight_decay:
            g = [gi + weight_decay * xi for gi, xi in zip(g, x)]
        sq = [si * alpha + (1 - alpha) * gi * gi for si, gi in zip(sq, g)]
        if centered:
            gavg = [ai * alpha + (1 - alpha) * gi for ai, gi in zip(gavg, g)]
            avg = [math.sqrt(si - ai * ai) for si, ai in zip(sq, gavg)]
        else:
            avg = [math.sqrt(si) for si in sq]
        avg = [ai + eps for ai in avg]
        if momentum > 0:
            buf = [bi * momentum + gi / ai for bi, gi, ai in zip(buf, g, avg)]
            x = [xi + (-lr) * bi for xi, bi in zip(x, buf)]
        else:
            x = [xi + (-lr) * gi / ai for xi, gi, ai in zip(x, g, avg)]
        out.append(x)
    return out


CONFIGS = [
    # name, reference function, kwargs (the torch constructor takes the same, see torch_run)
    ("sgd_plain", "sgd", dict(lr=0.1)),
    ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd_nesterov", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)),
    ("sgd_momentum_lr01", "sgd", dict(lr=0.1, momentum=0.9)),
    ("sgd_momentum_lr001", "sgd", dict(lr=0.01, momentum=0.9)),
    ("adam", "adam", dict(lr=0.1)),
    ("adam_wd_amsgrad", "adam", dict(lr=0.1, beta1=0.8, beta2=0.9, eps=1e-6, weight_decay=0.1, amsgrad=True)),
    ("adamw", "adamw", dict(lr=0.1, weight_decay=0.1)),
    ("rmsprop", "rmsprop", dict(lr=0.01)),
    ("rmsprop_full", "rmsprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True)),
]


def reference(kind, kw):
    if kind == "sgd":
        return sgd(X0, STEPS, **kw)
    if kind == "adam":
        return adam(X0, STEPS, **kw)
    if kind == "adamw":
        return adam(X0, STEPS, decoupled=True, **kw)
    return rmsprop(X0, STEPS, **kw)


# ---- schedulers: closed forms, base lrs 0.1 and 0.01, epochs 0..EPOCHS ----
BASES = [0.1, 0.01]
EPOCHS = 12


def step_lr(e, base):
    return base * 0.5 ** (e // 3)


def exponential_lr(e, base):
    return base * 0.9 ** e


def cosine_lr(e, base, t_max=10, eta_min=0.001):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2


def warmup_lr(e, base, warmup=4, start=0.25, after=None):
    if e < warmup:
        return base * (start + (1 - start) * e / warmup)
    return after(e - warmup, base) if after else base


SCHEDULES = [
    ("step_lr", step_lr),
    ("exponential_lr", exponential_lr),
    ("cosine_lr", cosine_lr),
    ("warmup_lr", warmup_lr),
    ("warmup_cosine_lr", lambda e, base: warmup_lr(e, base, after=lambda k, b: cosine_lr(k, b, t_max=8))),
]


# ---- PyTorch, when present ----
def torch_run(torch, kind, kw, dtype):
    x = torch.tensor(X0, dtype=dtype, requires_grad=True)
    a = torch.tensor(A, dtype=dtype)
    b = torch.tensor(B, dtype=dtype)
    kw = dict(kw)
    if kind in ("adam", "adamw"):
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}[kind]
    if kind == "adamw":
        kw.setdefault("weight_decay", 0.0)
    opt = cls([x], **kw)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        x.grad = (a * x + b).detach()
        opt.step()
        out.append(x.detach().tolist())
    return out


def torch_schedule(torch, name, epochs):
    lr_s = torch.optim.lr_scheduler
    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": BASES[0]}, {"params": [params[1]], "lr": BASES[1]}], lr=1.0)
    if name == "step_lr":
        s = lr_s.StepLR(opt, step_size=3, gamma=0.5)
    elif name == "exponential_lr":
        s = lr_s.ExponentialLR(opt, gamma=0.9)
    elif name == "cosine_lr":
        s = lr_s.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    elif name == "warmup_lr":
        s = lr_s.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4)
    else:
        warm = lr_s.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4)
        cos = lr_s.CosineAnnealingLR(opt, T_max=8, eta_min=0.001)
        s = lr_s.SequentialLR(opt, [warm, cos], milestones=[4])
    rows = []
    for _ in range(epochs + 1):
        rows.append([g["lr"] for g in opt.param_groups])
        opt.step()
        s.step()
    return rows


def max_rel_diff(x, y):
    worst = 0.0
    for u, v in zip(x, y):
        worst = max(worst, abs(u - v) / max(abs(v), 1e-300))
    return worst


def flat(rows):
    return [v for row in rows for v in row]


OUT = pathlib.Path(__file__).resolve().parent / "fixtures" / "optim_reference.json"


def write_json(values):
    """One array a line, in the order computed."""
    lines = [f" {json.dumps(name)}: {json.dumps([float(v) for v in vs])}" for name, vs in values.items()]
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def main():
    try:
        import warnings
        warnings.filterwarnings("ignore")
        import torch
        torch.set_default_dtype(torch.float64)
    except ImportError:
        torch = None

    values = {}
    failed = False
    for name, kind, kw in CONFIGS:
        ref = reference(kind, kw)
        values[name] = flat(ref)
        if torch is not None:
            t64 = flat(torch_run(torch, kind, kw, torch.float64))
            t32 = flat(torch_run(torch, kind, kw, torch.float32))
            d64, d32 = max_rel_diff(t64, flat(ref)), max_rel_diff(t32, flat(ref))
            print(f"// torch.optim {name}: float64 max rel diff {d64:.2e}, float32 {d32:.2e}", file=sys.stderr)
            failed |= d64 > 1e-12
    for name, fn in SCHEDULES:
        rows = [[fn(e, base) for base in BASES] for e in range(EPOCHS + 1)]
        values[name] = flat(rows)
        if torch is not None:
            t = flat(torch_schedule(torch, name, EPOCHS))
            d = max_rel_diff(t, flat(rows))
            print(f"// torch.optim.lr_scheduler {name}: max rel diff {d:.2e}", file=sys.stderr)
            failed |= d > 1e-12
    write_json(values)
    print(f"{OUT}: {len(values)} arrays, groups with base lr {BASES} at epochs 0 .. {EPOCHS}")
    if torch is None:
        print("// PyTorch not found: formulas only", file=sys.stderr)
    elif failed:
        print("PyTorch disagrees with the reference formulas", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
