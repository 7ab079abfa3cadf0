#!/usr/bin/python3
"""Writes tests/reference/fixtures/gan_networks.json: the GAN networks of the PyTorch
reference scripts (tools/reference/common.py: torch_ref.py's dcgan-rgb32 / dcgan-rgb64
rows, train_gan_torch.py's emoji cgan) as names and shapes, which tests/cli_test.sh checks
against the checkpoint minigen writes for the same model and options. Equal names and
shapes of every parameter and buffer mean the same layers in the same order with the same
sizes (and so the same parameter count): the two sides time and train the same networks.

Per case: the minigen model, its options (--config), image size, channels, the classes the
test's data set has; for G and D their state_dict {name: shape}, the parameter count, and
the output shape of a forward pass of a batch of 2 (G: images, D: logits).

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_gan_network_fixture.py
"""
import json

import torch
import torch.nn.functional as F

from fixture_io import OUT  # also puts tools/reference on the import path
from common import DCDiscriminator, DCGenerator

CASES = {
    # torch_ref.py's rows, minigen bench's workloads of the same names (width 64)
    "dcgan-rgb32": dict(model="dcgan", options={}, image_size=32, channels=3, classes=0),
    "dcgan-rgb64": dict(model="dcgan", options={}, image_size=64, channels=3, classes=0),
    # train_gan_torch.py's emoji model: cgan, width 32, D with the projection term
    "cgan-w32-rgb64": dict(model="cgan", options={"width": 32}, image_size=64, channels=3, classes=3),
}


def describe(case):
    width = case["options"].get("width", 64)
    classes, c, s = case["classes"], case["channels"], case["image_size"]
    G = DCGenerator(100, classes, width, c, s)
    D = DCDiscriminator(True, classes, width, c, s, projection=case["model"] == "cgan")
    z = torch.randn(2, 100)
    y = F.one_hot(torch.arange(2) % max(classes, 1), classes).float() if classes else None
    x = G(z, y)
    logits = D(x, y)
    out = dict(case)
    for name, net, y_shape in (("G", G, x.shape), ("D", D, logits.shape)):
        out[name] = {"state_dict": {k: list(v.shape) for k, v in net.state_dict().items()},
                     "parameters": sum(p.numel() for p in net.parameters()),
                     "output_shape": list(y_shape)}
    return out


if __name__ == "__main__":
    torch.manual_seed(0)
    path = OUT / "gan_networks.json"
    path.write_text(json.dumps({k: describe(v) for k, v in CASES.items()}, indent=1) + "\n")
    print(f"{path.name:45s} {path.stat().st_size:8d} bytes")
