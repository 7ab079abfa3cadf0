"""The progressive growing GAN's networks and training step in plain PyTorch, as
models/gan/progan_networks.h and models/gan/progan.cpp build them: equalized learning rate
(N(0, 1) weights scaled by gain / sqrt(fan_in) in forward), pixel norm, minibatch stddev,
fade-in; WGAN-GP (lambda 10) + drift 0.001 * E[D(x)^2]; Adam lr 1e-3, betas (0, 0.99).
torch_ref.py times its step at the final level (the `progan` workload of minigen bench)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import frozen_d_update  # tools/reference/common.py

SLOPE = 0.2


def channels(width, levels):
    """minigen's progan_channels: width up to 16x16, then halved per doubling, at least 8."""
    return [max(8, width if l <= 2 else width >> (l - 2)) for l in range(levels)]


class EqConv(nn.Module):
    def __init__(self, cin, cout, k, slope, gain=math.sqrt(2), padding=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale, self.slope = gain / math.sqrt(cin * k * k), slope
        self.padding = k // 2 if padding is None else padding

    def forward(self, x):
        y = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return F.leaky_relu(y, self.slope) if self.slope >= 0 else y


class EqLinear(nn.Module):
    def __init__(self, cin, cout, slope, gain=math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale, self.slope = gain / math.sqrt(cin), slope

    def forward(self, x):
        y = F.linear(x, self.weight * self.scale, self.bias)
        return F.leaky_relu(y, self.slope) if self.slope >= 0 else y


def pixel_norm(x):
    return x / torch.sqrt(x.square().mean(1, keepdim=True) + 1e-8)


def minibatch_stddev(x, group_size):
    n, c, h, w = x.shape
    g = min(group_size, n)
    y = x.reshape(g, n // g, c, h, w)
    s = torch.sqrt((y - y.mean(0, keepdim=True)).square().mean(0) + 1e-8).mean((1, 2, 3))  # [n // g]
    return torch.cat([x, s.view(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)], 1)


def fade_in(old, fresh, alpha):
    return old if alpha <= 0 else fresh if alpha >= 1 else (1 - alpha) * old + alpha * fresh


class Generator(nn.Module):
    def __init__(self, z_dim, ch, image_channels=3):
        super().__init__()
        self.c0 = ch[0]
        self.dense = EqLinear(z_dim, ch[0] * 16, SLOPE, math.sqrt(2) / 4)
        self.stem = EqConv(ch[0], ch[0], 3, SLOPE)
        self.blocks = nn.ModuleList([nn.ModuleList([EqConv(ch[l - 1], ch[l], 3, SLOPE), EqConv(ch[l], ch[l], 3, SLOPE)])
                                     for l in range(1, len(ch))])
        self.to_rgb = nn.ModuleList([EqConv(c, image_channels, 1, -1.0, 1.0) for c in ch])

    def forward(self, z, level, alpha=1.0):
        h = pixel_norm(self.dense(pixel_norm(z)).view(-1, self.c0, 4, 4))
        h = pixel_norm(self.stem(h))
        prev = h
        for l in range(1, level + 1):
            prev = h
            c1, c2 = self.blocks[l - 1]
            h = pixel_norm(c2(pixel_norm(c1(F.interpolate(h, scale_factor=2, mode="nearest")))))
        fresh = self.to_rgb[level](h)
        if level == 0 or alpha >= 1:
            return fresh
        return fade_in(F.interpolate(self.to_rgb[level - 1](prev), scale_factor=2, mode="nearest"), fresh, alpha)


class Discriminator(nn.Module):
    def __init__(self, ch, image_channels=3, group_size=4):
        super().__init__()
        self.group_size = group_size
        self.from_rgb = nn.ModuleList([EqConv(image_channels, c, 1, SLOPE) for c in ch])
        self.blocks = nn.ModuleList([nn.ModuleList([EqConv(ch[l], ch[l], 3, SLOPE), EqConv(ch[l], ch[l - 1], 3, SLOPE)])
                                     for l in range(1, len(ch))])
        self.conv3 = EqConv(ch[0] + 1, ch[0], 3, SLOPE)
        self.conv4 = EqConv(ch[0], ch[0], 4, SLOPE, padding=0)
        self.dense = EqLinear(ch[0], 1, -1.0, 1.0)

    def block(self, l, h):
        c1, c2 = self.blocks[l - 1]
        return F.avg_pool2d(c2(c1(h)), 2)

    def forward(self, x, level, alpha=1.0):
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.block(level, h)
            if alpha < 1:
                h = fade_in(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), h, alpha)
        for l in range(level - 1, 0, -1):
            h = self.block(l, h)
        h = self.conv4(self.conv3(minibatch_stddev(h, self.group_size)))
        return self.dense(h.flatten(1))


def make_progan_step(G, D, next_images, z_dim, level, alpha=1.0, lr=1e-3, gp_weight=10.0, drift=1e-3):
    """One step as minigen's AdversarialModel with wasserstein loss and n_critic 1: D on real vs
    G(z).detach() + gradient penalty + drift; then G (D frozen) on -D(G(z')) with fresh z'."""
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.0, 0.99))

    def step():
        real = next_images()
        n = real.shape[0]
        fake = G(torch.randn(n, z_dim), level, alpha)
        opt_g.zero_grad(set_to_none=True)
        opt_d.zero_grad(set_to_none=True)
        lr_, lf = D(real, level, alpha), D(fake.detach(), level, alpha)
        loss_d = lf.mean() - lr_.mean()
        e = torch.rand(n, 1, 1, 1)
        xhat = (e * real + (1 - e) * fake.detach()).requires_grad_()
        g, = torch.autograd.grad(D(xhat, level, alpha).sum(), xhat, create_graph=True)
        norms = torch.sqrt(g.flatten(1).square().sum(1) + 1e-12)
        loss_d = loss_d + gp_weight * (norms - 1).square().mean() + drift * lr_.square().mean()
        loss_d.backward()
        opt_d.step()
        return frozen_d_update(D, opt_g, lambda: -D(G(torch.randn(n, z_dim), level, alpha), level, alpha).mean())

    return step
