#!/usr/bin/python3
"""Writes tests/reference/fixtures/pix2pix_networks.safetensors: pix2pix's U-Net and PatchGAN
(tools/reference/pix2pix_torch.py) at 28x28 (padded to 32 inside the U-Net), width 2, no
dropout, in training mode (BatchNorm on batch statistics): their weights ("G.*", "D.net.*",
the names minigen's modules give them), an input pair and PyTorch's outputs, which
tests/test_pix2pix.cpp checks minigen's networks against on the same weights.

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_pix2pix_fixture.py
"""
import torch

from fixture_io import OUT, write_fixture  # also puts tools/reference on the import path
from pix2pix_torch import UNet, patch_gan, patch_layers, pix2pix_init

if __name__ == "__main__":
    torch.manual_seed(0)
    OUT.mkdir(exist_ok=True)
    G = pix2pix_init(UNet(1, 3, 28, width=2, dropout=0.0))
    D = pix2pix_init(patch_gan(4, patch_layers(28), width=2))
    for m in (G, D):  # biases and BatchNorm shifts away from 0, so that they are checked too
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                torch.nn.init.normal_(p, 0.0, 0.1)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        y = G(x)
        logits = D(torch.cat([x, y], 1))
    tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
    tensors.update({f"D.net.{k}": v for k, v in D.state_dict().items()})
    tensors.update({"input": x, "output": y, "logits": logits})
    path = write_fixture("pix2pix_networks", tensors, {"source": "tests/reference/make_pix2pix_fixture.py"})
    print(f"{path.name:45s} {path.stat().st_size:8d} bytes")
