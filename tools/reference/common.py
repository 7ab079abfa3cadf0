"""Model pieces shared by the PyTorch reference scripts (tools/reference) and the fixture
writers (tests/reference): one definition each, as docs/workloads.md describes them.

It imports torch, so a script that sets its thread environment (OMP_NUM_THREADS, ...)
imports this module after doing so.
"""

import torch
from torch import nn
import torch.nn.functional as F

PIXELS = 784  # 28 x 28


class MaskedConv2d(nn.Conv2d):
    """PixelCNN's masked convolution: type A hides the centre pixel, type B shows it; both
    hide every pixel after the centre in raster order. Padding k // 2 and no bias unless
    given; printed as minigen prints it, the mask type first, then Conv2d's."""

    def __init__(self, mask_type, in_ch, out_ch, k, padding=None, bias=False):
        super().__init__(in_ch, out_ch, k, padding=k // 2 if padding is None else padding, bias=bias)
        self.mask_type = mask_type
        mask = torch.ones_like(self.weight)
        c = k // 2
        mask[:, :, c, c + (mask_type == "B"):] = 0
        mask[:, :, c + 1:, :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return f"'{self.mask_type}', " + super().extra_repr()


def pixelcnn_net(channels=64, layers=7, k=7, levels=256):
    """MaskedConv2d A (1 -> channels) BatchNorm2d ReLU, layers x [MaskedConv2d B BatchNorm2d
    ReLU], Conv2d(channels, levels, 1): workloads.md's pixelcnn at the defaults."""
    blocks = [MaskedConv2d("A", 1, channels, k), nn.BatchNorm2d(channels), nn.ReLU()]
    for _ in range(layers):
        blocks += [MaskedConv2d("B", channels, channels, k), nn.BatchNorm2d(channels), nn.ReLU()]
    blocks.append(nn.Conv2d(channels, levels, 1))
    return nn.Sequential(*blocks)


def dcgan_init(net):
    """N(0, 0.02) conv/linear weights, N(1, 0.02) BatchNorm scale, shift 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


class VaeEncoder(nn.Module):  # state_dict names as minigen's models/vae/networks.h
    """Linear(784 (+ classes), hidden) ReLU -> {Linear mu, Linear logvar}."""

    def __init__(self, hidden=400, latent=20, classes=0):
        super().__init__()
        self.fc1 = nn.Linear(PIXELS + classes, hidden)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        return self.mu(h), self.logvar(h)


class VaeDecoder(nn.Module):
    """Linear(latent (+ classes), hidden) ReLU -> Linear(hidden, 784): Bernoulli logits."""

    def __init__(self, hidden=400, latent=20, classes=0):
        super().__init__()
        self.fc1 = nn.Linear(latent + classes, hidden)
        self.fc2 = nn.Linear(hidden, PIXELS)

    def forward(self, z):
        return self.fc2(F.relu(self.fc1(z)))
