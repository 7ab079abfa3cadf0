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


def image_shape(size):
    """minigen's models/gan/networks.cpp image_shape: (base, blocks) with size = base * 2^blocks,
    blocks >= 2, base 7 when size / 7 is a power of two (28, 56), else 4 (16, 32, 64, ...)."""
    for base in (7, 4):
        blocks, s = 0, size
        while s > base and s % 2 == 0:
            s //= 2
            blocks += 1
        if s == base and blocks >= 2:
            return base, blocks
    raise ValueError(f"image size {size} is not offered (7 * 2^k or 4 * 2^k, k >= 2)")


class DCGenerator(nn.Module):
    """minigen's DcGenerator (models/gan/networks.h), parameter names included:
    z (+ one-hot label) -> fc -> (w * 2^(blocks-1), base, base) -> BN ReLU
    -> blocks - 1 x [ConvT(c, c/2, 4, 2, 1) BN ReLU] -> ConvT(w, channels, 4, 2, 1) Tanh.
    28x28x1, width 64: workloads.md's dcgan generator; 64x64: the DCGAN paper's."""

    def __init__(self, z_dim=100, n_classes=0, width=64, channels=1, size=28):
        super().__init__()
        self.base, blocks = image_shape(size)
        self.base_channels = width << (blocks - 1)
        self.fc = nn.Linear(z_dim + n_classes, self.base_channels * self.base * self.base)
        layers, c = [nn.BatchNorm2d(self.base_channels), nn.ReLU()], self.base_channels
        while c > width:
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, y_onehot=None):
        if y_onehot is not None:
            z = torch.cat([z, y_onehot], dim=1)
        return self.net(self.fc(z).view(-1, self.base_channels, self.base, self.base))


class DCDiscriminator(nn.Module):
    """minigen's DcDiscriminator: Conv(channels, w, 4, 2, 1) LReLU(0.2) -> blocks - 1 x
    [Conv(c, 2c, 4, 2, 1) [BN] LReLU(0.2)] -> Flatten = h -> fc(h (+ one-hot label)) -> logit,
    plus <embed(y), h> with `projection` (Miyato & Koyama 2018; minigen's cgan default).
    spectral_norm wraps every conv and linear layer (torch.nn.utils.spectral_norm: weight_orig,
    weight_u, weight_v, as minigen's nn::SpectralNorm names them)."""

    def __init__(self, batchnorm=True, n_classes=0, width=64, channels=1, size=28, projection=False,
                 spectral_norm=False):
        super().__init__()
        base, blocks = image_shape(size)
        sn = nn.utils.spectral_norm if spectral_norm else (lambda layer: layer)
        layers, c = [sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2)], width
        for _ in range(blocks - 1):
            layers.append(sn(nn.Conv2d(c, 2 * c, 4, 2, 1)))
            if batchnorm:
                layers.append(nn.BatchNorm2d(2 * c))
            layers.append(nn.LeakyReLU(0.2))
            c *= 2
        layers.append(nn.Flatten())
        self.trunk = nn.Sequential(*layers)
        features = c * base * base
        self.fc = sn(nn.Linear(features + n_classes, 1))
        if projection:
            assert n_classes > 0, "the projection term needs classes"
            self.embed = sn(nn.Linear(n_classes, features, bias=False))

    def forward(self, x, y_onehot=None):
        h = self.trunk(x)
        if y_onehot is None:
            return self.fc(h)
        logit = self.fc(torch.cat([h, y_onehot], dim=1))
        if hasattr(self, "embed"):
            logit = logit + (self.embed(y_onehot) * h).sum(1, keepdim=True)
        return logit


def dcgan_init(net):
    """N(0, 0.02) conv/linear weights (spectral_norm's weight_orig), N(1, 0.02) BatchNorm
    scale, shift 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight_orig if hasattr(m, "weight_orig") else m.weight, 0.0, 0.02)
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


def frozen_d_update(D, opt_g, loss_fn):
    """G's update through a frozen D (no D weight gradients), as minigen's FreezeParameters:
    loss_fn() builds G's loss; returns its value. D's parameters require grad again after."""
    for p in D.parameters():
        p.requires_grad_(False)
    try:
        opt_g.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt_g.step()
    finally:
        for p in D.parameters():
            p.requires_grad_(True)
    return loss.item()
