#!/usr/bin/python3
"""Writes tests/reference/fixtures/gan_<case>.safetensors: one full training step of
minigen's GANs computed by PyTorch, which tests/test_gan.cpp replays and compares.

A step is what models/gan/adversarial.cpp (AdversarialModel::step) does, in its order:

  fake = G(z [, one-hot fake_labels])                    G in train mode (BatchNorm batch stats)
  D update:  loss_d = L_D(D(pack(real)), D(pack(fake.detach())))
                      [+ gp_weight * E(||grad_xhat D(xhat)|| - 1)^2,  xhat = e*real + (1-e)*fake]
                      [+ r1_gamma/2 * E||grad_x D(real)||^2]
             backward, Adam step of D
  G update (when (calls + 1) % n_critic == 0), through the UPDATED D, its weights frozen:
             [fake = G(z_g) when n_critic > 1 or the loss is wasserstein]
             loss_g = L_G(D(pack(fake)))  (bce: non-saturating, softplus(-l))
             backward, Adam step of G, then G_ema = d*G_ema + (1-d)*G (buffers copied),
             d = min(ema_decay, (1 + k) / (10 + k)) at G's k-th update

Every forward of D is in train mode: its BatchNorm uses the batch's statistics and
moves its running statistics each time (real, fake, penalty, and the G update), and
with spectral_norm every forward runs one power iteration.

Each fixture holds:
  input.real, input.labels                  the real batch (float32; int64 labels for cgan)
  noise.z, noise.z_g, noise.fake_labels,    the step's random draws (those it uses)
  noise.gp_e
  init.G.<name>, init.D.<name>              the state dicts before the step (float32); the
                                            EMA generator starts as a copy of G
  metric.<key>                              loss_d, loss_g, d_real, d_fake, d_fake_after,
                                            gp, r1 (float64, 0-d, as minigen reports them)
  grad.D.<param>                            D's gradients of loss_d          (float64)
  grad.G.<param>                            G's gradients of loss_g          (float64)
  after.D.<name>, after.G.<name>,           the state dicts after the step   (float64)
  after.G_ema.<name>
and in its metadata: "model" (minigen's name), "options" (JSON for ModelConfig.options),
"batch_size", "calls_before" (the step count before this step: wgan-gp's G update comes
on the n_critic-th call) and "lr_d", "lr_g".

The initial state and inputs are drawn in float32 and stored as such; the reference
runs on float64 copies of those exact values (as make_nn_fixtures.py does).

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_gan_fixtures.py
It is needed only to regenerate the fixtures, never to run the tests.
"""
import copy
import json
import zlib

import torch
from torch import nn
import torch.nn.functional as F

from fixture_io import regenerate, write_fixture  # also puts tools/reference on the import path
from common import DCDiscriminator, DCGenerator, dcgan_init

# ---- the networks: tools/reference/common.py's (DCGenerator, DCDiscriminator, dcgan_init), at
# 28x28x1 with a width, spectral norm and the projection term; gan2d's here.


def sn(layer, on):
    return nn.utils.spectral_norm(layer) if on else layer


def gan2d_generator(z_dim, width):
    return nn.Sequential(nn.Linear(z_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, 2))


def gan2d_discriminator(pack, width, spectral_norm):
    return nn.Sequential(sn(nn.Linear(2 * pack, width), spectral_norm), nn.LeakyReLU(0.2),
                         sn(nn.Linear(width, width), spectral_norm), nn.LeakyReLU(0.2),
                         sn(nn.Linear(width, 1), spectral_norm))


def randomize_running_stats(module):
    """Running mean 0 and variance 1 would hide a wrong momentum formula."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)


# ---- the cases --------------------------------------------------------------------------------
# name -> minigen model, its options (as --config gives them), batch size, the step count
# before this step, and the GanOptions the step uses (minigen's defaults for that model).
GAN2D = dict(loss="bce", lr=1e-3, betas=(0.5, 0.999), pack=4, r1_gamma=0.1, gp_weight=0.0, n_critic=1,
             ema_decay=0.999, z_dim=16)
IMAGE = dict(loss="bce", lr=2e-4, betas=(0.5, 0.999), pack=1, r1_gamma=0.0, gp_weight=0.0, n_critic=1,
             ema_decay=0.0, z_dim=16)
GAN2D_OPTIONS = {"width": 32, "pack": 4, "r1_gamma": 0.1, "ema_decay": 0.999}
WGAN = dict(IMAGE, loss="wasserstein", lr=1e-4, betas=(0.5, 0.9), gp_weight=10.0, n_critic=5)

CASES = {
    # gan2d with PacGAN (pack 4), R1 0.1 and an EMA generator (0.999), given explicitly so
    # that the fixture does not follow the model's defaults; reduced width.
    "gan2d": dict(model="gan2d", options=GAN2D_OPTIONS, batch=8, calls_before=0, **GAN2D),
    "gan2d_sn": dict(model="gan2d", options=dict(GAN2D_OPTIONS, spectral_norm=True), batch=8, calls_before=0,
                     spectral_norm=True, **GAN2D),
    "dcgan": dict(model="dcgan", options={"width": 8, "z_dim": 16}, batch=8, calls_before=0, **IMAGE),
    "dcgan_sn": dict(model="dcgan", options={"width": 8, "z_dim": 16, "spectral_norm": True}, batch=8,
                     calls_before=0, spectral_norm=True, **IMAGE),
    "cgan": dict(model="cgan", options={"width": 8, "z_dim": 16, "projection": False}, batch=8, calls_before=0,
                 classes=10, **IMAGE),
    # minigen's default cgan: D with the projection term.
    "cgan_proj": dict(model="cgan", options={"width": 8, "z_dim": 16}, batch=8, calls_before=0, classes=10,
                      projection=True, **IMAGE),
    # n_critic 5: the fifth call of the step updates G; calls 1-4 are D updates alone.
    "wgan_gp": dict(model="wgan-gp", options={"width": 8, "z_dim": 16}, batch=8, calls_before=4, **WGAN),
}


def build(case):
    classes = case.get("classes", 0)
    spectral = case.get("spectral_norm", False)
    if case["model"] == "gan2d":
        width = case["options"]["width"]
        G = gan2d_generator(case["z_dim"], width)
        D = gan2d_discriminator(case["pack"], width, spectral)
    else:
        width = case["options"]["width"]
        G = dcgan_init(DCGenerator(case["z_dim"], classes, width))
        D = dcgan_init(DCDiscriminator(case["model"] != "wgan-gp", classes, width,
                                       projection=case.get("projection", False), spectral_norm=spectral))
        randomize_running_stats(G)
        randomize_running_stats(D)
    return G, D


def inputs(case):
    b, classes = case["batch"], case.get("classes", 0)
    t = {}
    if case["model"] == "gan2d":
        angle = torch.randint(0, 8, (b,)).float() * (2 * torch.pi / 8)
        t["input.real"] = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], 1) + 0.02 * torch.randn(b, 2)
    else:
        t["input.real"] = torch.rand(b, 1, 28, 28) * 2 - 1
    if classes:
        t["input.labels"] = torch.randint(0, classes, (b,))
        t["noise.fake_labels"] = torch.randint(0, classes, (b,))
    t["noise.z"] = torch.randn(b, case["z_dim"])
    if case["n_critic"] > 1 or case["loss"] == "wasserstein":
        t["noise.z_g"] = torch.randn(b, case["z_dim"])
    if case["gp_weight"] > 0:
        t["noise.gp_e"] = torch.rand(b)
    return t


def d_loss(case, lr, lf):
    if case["loss"] == "wasserstein":
        return lf.mean() - lr.mean()
    return (F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr))
            + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf)))


def g_loss(case, lf):
    if case["loss"] == "wasserstein":
        return -lf.mean()
    return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))  # non-saturating


def d_output(case, logits):
    with torch.no_grad():
        return (torch.sigmoid(logits) if case["loss"] == "bce" else logits).mean()


def step(case, G, D, G_ema, t):
    """One step as AdversarialModel::step; returns what the fixture records."""
    classes = case.get("classes", 0)
    pack = case["pack"]

    def packed(x):  # PacGAN: [B, C...] -> [B/pack, pack*C...]
        return x if pack == 1 else x.reshape(x.shape[0] // pack, -1)

    def gen(z):
        if classes:
            z = torch.cat([z, F.one_hot(t["noise.fake_labels"], classes).double()], 1)
        return G(z)

    def disc(x, labels):
        if classes:
            return D(x, F.one_hot(labels, classes).double())
        return D(packed(x))

    real = t["input.real"].double()
    labels = t.get("input.labels")
    fake_labels = t.get("noise.fake_labels")
    opt_d = torch.optim.Adam(D.parameters(), lr=case["lr"], betas=case["betas"])
    opt_g = torch.optim.Adam(G.parameters(), lr=case["lr"], betas=case["betas"])
    out, metric = {}, {}

    fake = gen(t["noise.z"].double())

    # ---- D update
    opt_d.zero_grad(set_to_none=True)
    lr = disc(real, labels)
    lf = disc(fake.detach(), fake_labels)
    loss_d = d_loss(case, lr, lf)
    if case["gp_weight"] > 0:
        e = t["noise.gp_e"].double().view(-1, *([1] * (real.dim() - 1)))
        xhat = (e * real + (1 - e) * fake.detach()).detach().requires_grad_()
        g, = torch.autograd.grad(disc(xhat, labels).sum(), xhat, create_graph=True)
        norms = torch.sqrt((g.flatten(1) ** 2).sum(1) + 1e-12)
        gp = ((norms - 1) ** 2).mean()
        metric["gp"] = gp.detach()
        loss_d = loss_d + case["gp_weight"] * gp
    if case["r1_gamma"] > 0:
        x = real.detach().requires_grad_()
        g, = torch.autograd.grad(disc(x, labels).sum(), x, create_graph=True)
        r1 = (g.flatten(1) ** 2).sum(1).mean()
        metric["r1"] = r1.detach()
        loss_d = loss_d + case["r1_gamma"] / 2 * r1
    loss_d.backward()
    out.update({f"grad.D.{k}": p.grad for k, p in D.named_parameters()})
    opt_d.step()
    metric.update(loss_d=loss_d.detach(), d_real=d_output(case, lr), d_fake=d_output(case, lf))
    if case["loss"] == "wasserstein":
        metric["wasserstein"] = (lr.mean() - lf.mean()).detach()

    # ---- G update through the updated D, D frozen
    calls = case["calls_before"] + 1
    assert calls % case["n_critic"] == 0, "the fixture's step must include a G update"
    if case["n_critic"] > 1 or case["loss"] == "wasserstein":
        fake = gen(t["noise.z_g"].double())
    for p in D.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    lf_after = disc(fake, fake_labels)
    loss_g = g_loss(case, lf_after)
    loss_g.backward()
    for p in D.parameters():
        p.requires_grad_(True)
    out.update({f"grad.G.{k}": p.grad for k, p in G.named_parameters()})
    opt_g.step()
    if G_ema is not None:
        k = calls // case["n_critic"]  # this is G's k-th update; the EMA warms up
        decay = min(case["ema_decay"], (1 + k) / (10 + k))
        with torch.no_grad():
            for e_p, p in zip(G_ema.parameters(), G.parameters()):
                e_p.mul_(decay).add_(p, alpha=1 - decay)
            for e_b, b in zip(G_ema.buffers(), G.buffers()):
                e_b.copy_(b)
    metric.update(loss_g=loss_g.detach(), d_fake_after=d_output(case, lf_after))

    out.update({f"metric.{k}": v.double().reshape(()) for k, v in metric.items()})
    out.update({f"after.D.{k}": v for k, v in D.state_dict().items()})
    out.update({f"after.G.{k}": v for k, v in G.state_dict().items()})
    if G_ema is not None:
        out.update({f"after.G_ema.{k}": v for k, v in G_ema.state_dict().items()})
    return out


def make(name, case):
    torch.manual_seed(zlib.crc32(name.encode()))
    G, D = build(case)
    t = inputs(case)
    tensors = dict(t)
    tensors.update({f"init.G.{k}": v.clone() for k, v in G.state_dict().items()})
    tensors.update({f"init.D.{k}": v.clone() for k, v in D.state_dict().items()})

    G, D = copy.deepcopy(G).double().train(), copy.deepcopy(D).double().train()
    G_ema = copy.deepcopy(G) if case["ema_decay"] > 0 else None
    tensors.update(step(case, G, D, G_ema, t))

    metadata = {"model": case["model"], "options": json.dumps(case["options"]), "batch_size": str(case["batch"]),
                "calls_before": str(case["calls_before"]), "lr": repr(case["lr"])}
    return write_fixture(f"gan_{name}", tensors, metadata)


if __name__ == "__main__":
    regenerate("gan", CASES, make)
