"""pix2pix's networks and training step in plain PyTorch, as models/gan/pix2pix_networks.h and
models/gan/pix2pix.cpp build them (the authors' UnetGenerator and NLayerDiscriminator, with
minigen's depth, dropout and PatchGAN rules for small images). torch_ref.py times its step
(the `pix2pix` workload of minigen bench)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import frozen_d_update  # tools/reference/common.py


def _channels(width, k):
    return width * min(2 ** k, 8)


class UNet(nn.Module):
    """[B, Ci, S, S] in [-1, 1] -> [B, Co, S, S]; S padded with -1 to the next power of two."""

    def __init__(self, cin, cout, size, width=64, dropout=0.5):
        super().__init__()
        self.size, self.padded, self.p = size, 1 << (size - 1).bit_length(), dropout
        n = self.depth = self.padded.bit_length() - 1
        ch = lambda k: _channels(width, k)  # noqa: E731
        self.down = nn.ModuleList([nn.Conv2d(cin if k == 0 else ch(k - 1), ch(k), 4, 2, 1, bias=False)
                                   for k in range(n)])
        self.down_norm = nn.ModuleList([nn.BatchNorm2d(ch(k)) for k in range(1, n - 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch(n - 1) if k == n - 1 else 2 * ch(k),
                                                    cout if k == 0 else ch(k - 1), 4, 2, 1, bias=(k == 0))
                                 for k in range(n)])
        self.up_norm = nn.ModuleList([nn.BatchNorm2d(ch(k - 1)) for k in range(1, n)])
        self.dropout_blocks = min(3, n - 3)

    def forward(self, x):
        n, before = self.depth, (self.padded - self.size) // 2
        after = self.padded - self.size - before
        e = [self.down[0](F.pad(x, (before, after, before, after), value=-1.0))]
        for k in range(1, n):
            h = self.down[k](F.leaky_relu(e[-1], 0.2))
            e.append(self.down_norm[k - 1](h) if k <= n - 2 else h)
        d = self.up_norm[n - 2](self.up[n - 1](F.relu(e[n - 1])))
        for k in range(n - 2, 0, -1):
            d = self.up_norm[k - 1](self.up[k](F.relu(torch.cat([e[k], d], 1))))
            if n - 2 - k < self.dropout_blocks and self.p > 0:
                d = F.dropout(d, self.p, training=True)  # noise at test time too
        y = torch.tanh(self.up[0](F.relu(torch.cat([e[0], d], 1))))
        return y[:, :, before:before + self.size, before:before + self.size]


def patch_layers(size):
    layers, field = 1, lambda L: 7 * 2 ** L + 2 * (2 ** L - 1)  # noqa: E731
    while layers < 3 and field(layers + 1) <= size:
        layers += 1
    return layers


def patch_gan(cin, layers, width=64):
    ch = lambda i: _channels(width, i)  # noqa: E731
    mods = [nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2)]
    for i in range(1, layers + 1):
        mods += [nn.Conv2d(ch(i - 1), ch(i), 4, 2 if i < layers else 1, 1, bias=False), nn.BatchNorm2d(ch(i)),
                 nn.LeakyReLU(0.2)]
    mods.append(nn.Conv2d(ch(layers), 1, 4, 1, 1))
    return nn.Sequential(*mods)


def pix2pix_init(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


def make_pix2pix_step(G, D, next_pair, cin, lr=2e-4, l1_weight=100.0):
    """One step: D on (x, y) vs (x, G(x).detach()), loss halved; then G (D frozen) on
    BCE(D(x, G(x)), 1) + l1_weight * mean|G(x) - y|. next_pair() -> [B, Ci + Co, S, S]."""
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits

    def step():
        pair = next_pair()
        x, y = pair[:, :cin], pair[:, cin:]
        fake = G(x)
        opt_d.zero_grad(set_to_none=True)
        real_logits, fake_logits = D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1))
        loss_d = 0.5 * (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits)))
        loss_d.backward()
        opt_d.step()
        def loss_g():
            logits = D(torch.cat([x, fake], 1))
            return bce(logits, torch.ones_like(logits)) + l1_weight * (fake - y).abs().mean()

        return frozen_d_update(D, opt_g, loss_g)

    return step
