#!/usr/bin/python3
"""Writes tests/reference/fixtures/pixelcnn_step.safetensors: one PixelCNN training
step in PyTorch, which tests/test_pixelcnn.cpp repeats in minigen and compares.

The network is workloads.md's pixelcnn with a reduced width (8 channels instead of 64,
to keep the file small; the structure is the same: a type-A 7x7 masked conv, 7 type-B
blocks, BatchNorm + ReLU after each, a 1x1 conv to 256 logits):

  input          float32 [4, 1, 28, 28]   random grey levels / 255
  target         int64   [4, 28, 28]      the levels
  state.<name>   the state_dict before the step (float32; int64 counters), masks included
  loss           float64 0-d              cross-entropy over 256 levels, mean over pixels
  grad.<name>    float64                  d loss / d parameter, every parameter
  after.<name>   float64 (int64 counters) every parameter and buffer (but the masks) after
                                          one torch.optim.Adam step (lr 1e-3, defaults otherwise)
metadata: channels, layers, kernel, lr, repr.

BatchNorm's affine parameters and running statistics are randomized (PyTorch starts
them at 1, 0, 0, 1), so a wrong formula cannot match by accident. The reference runs on
a float64 copy of the float32 values that are stored.

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_pixelcnn_fixture.py
Needed only to regenerate the fixture, never to run the tests.
"""
import copy

import torch
import torch.nn.functional as F

from fixture_io import write_fixture
from make_nn_fixtures import randomize_norm_state
from common import pixelcnn_net  # tools/reference/common.py (fixture_io puts it on the path)

CHANNELS, LAYERS, KERNEL, LEVELS, BATCH, SIZE, LR = 8, 7, 7, 256, 4, 28, 1e-3


def main():
    torch.manual_seed(20240607)
    net = pixelcnn_net(CHANNELS, LAYERS, KERNEL, LEVELS)
    randomize_norm_state(net)
    levels = torch.randint(0, LEVELS, (BATCH, 1, SIZE, SIZE))
    x = levels.float() / (LEVELS - 1)
    target = levels.squeeze(1)
    state = {k: v.clone() for k, v in net.state_dict().items()}

    ref = copy.deepcopy(net).double().train()
    opt = torch.optim.Adam(ref.parameters(), lr=LR)
    opt.zero_grad()
    loss = F.cross_entropy(ref(x.double()), target)
    loss.backward()
    grads = {f"grad.{k}": p.grad.clone() for k, p in ref.named_parameters()}
    opt.step()

    tensors = {"input": x, "target": target, "loss": loss.detach()}
    tensors.update({f"state.{k}": v for k, v in state.items()})
    tensors.update(grads)
    tensors.update({f"after.{k}": v.detach().clone() for k, v in ref.state_dict().items()
                    if not k.endswith(".mask")})
    metadata = {"channels": str(CHANNELS), "layers": str(LAYERS), "kernel": str(KERNEL), "lr": repr(LR),
                "repr": repr(net)}
    path = write_fixture("pixelcnn_step", tensors, metadata)
    print(f"{path.name}: {path.stat().st_size} bytes, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
