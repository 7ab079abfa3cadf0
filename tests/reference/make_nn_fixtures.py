#!/usr/bin/python3
"""Writes tests/reference/fixtures/nn_<case>.safetensors: PyTorch's answers for
minigen's nn modules, which tests/test_nn_fixtures.cpp checks against.

Each fixture holds, for one module in one mode:
  input           the input (float32, or int64 indices for Embedding)
  proj            fixed random weights; the loss is sum(output * proj)
  state.<name>    the module's state_dict before the forward (float32; int64 counters)
  output          the output                                    (float64)
  loss            the loss                                      (float64, 0-d)
  grad.input      d loss / d input, for float inputs            (float64)
  grad.<name>     d loss / d parameter, for every parameter     (float64)
  after.<name>    every buffer after the forward (BatchNorm's running statistics)
and in its JSON metadata: "repr" (PyTorch's printout of the module) and "mode"
("train" or "eval"); "check": "dropout" marks the one case checked by its
properties instead of its values (the two frameworks draw different masks).

The weights and inputs are drawn in float32 and stored as such; the reference
runs on a float64 copy of those exact values, so the expected values carry no
float32 rounding of their own.

Run with Debian's PyTorch (python3-torch): /usr/bin/python3 make_nn_fixtures.py
It is needed only to regenerate the fixtures, never to run the tests. The files
are written by fixture_io.py.
"""
import copy
import zlib

import torch
from torch import nn

from fixture_io import regenerate, write_fixture
from common import MaskedConv2d  # tools/reference/common.py (fixture_io puts it on the path)


def randomize_norm_state(module):
    """BatchNorm and LayerNorm start at weight 1, bias 0, mean 0, var 1: give them
    values that a wrong formula could not match by accident."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0.0, 0.3)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.track_running_stats:
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(3)


def randn(*shape, scale=1.0):
    return torch.randn(*shape) * scale


# name -> (build the module, make the input, mode)
CASES = {
    "linear": (lambda: nn.Linear(5, 3), lambda: randn(2, 3, 5), "train"),
    "linear_nobias": (lambda: nn.Linear(4, 2, bias=False), lambda: randn(3, 4), "train"),
    "conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), lambda: randn(2, 4, 5, 5), "train"),
    "conv2d_dilated": (lambda: nn.Conv2d(3, 2, (3, 2), stride=(1, 2), padding=(2, 1), dilation=2, bias=False),
                       lambda: randn(2, 3, 6, 7), "train"),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, output_padding=1, groups=2),
                         lambda: randn(2, 4, 3, 4), "train"),
    "conv_transpose2d_dilated": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=1, padding=1, bias=False, dilation=2),
                                 lambda: randn(2, 3, 4, 5), "train"),
    "masked_conv2d_a": (lambda: MaskedConv2d("A", 2, 3, 5, 2, bias=True), lambda: randn(2, 2, 5, 5), "train"),
    "masked_conv2d_b": (lambda: MaskedConv2d("B", 3, 3, 3, 1, bias=False), lambda: randn(2, 3, 5, 5), "train"),
    "batchnorm1d_train": (lambda: nn.BatchNorm1d(4), lambda: randn(6, 4, scale=2.0) + 1.0, "train"),
    "batchnorm1d_3d_eval": (lambda: nn.BatchNorm1d(3), lambda: randn(4, 3, 5), "eval"),
    "batchnorm1d_cumulative": (lambda: nn.BatchNorm1d(3, momentum=None), lambda: randn(5, 3), "train"),
    "batchnorm2d_train": (lambda: nn.BatchNorm2d(3), lambda: randn(4, 3, 3, 3), "train"),
    "batchnorm2d_eval": (lambda: nn.BatchNorm2d(3, eps=1e-3), lambda: randn(2, 3, 3, 4), "eval"),
    "batchnorm2d_batch_stats": (lambda: nn.BatchNorm2d(3, affine=False, track_running_stats=False),
                                lambda: randn(3, 3, 2, 3), "eval"),
    "layernorm": (lambda: nn.LayerNorm([3, 4]), lambda: randn(2, 5, 3, 4), "train"),
    "layernorm_plain": (lambda: nn.LayerNorm(6, eps=1e-3, elementwise_affine=False), lambda: randn(4, 6), "train"),
    "embedding": (lambda: nn.Embedding(10, 4), lambda: torch.randint(0, 10, (3, 5)), "train"),
    "dropout_train": (lambda: nn.Dropout(0.3), lambda: randn(20, 25), "train"),
    "dropout_eval": (lambda: nn.Dropout(0.3), lambda: randn(4, 5), "eval"),
    "flatten": (lambda: nn.Flatten(), lambda: randn(2, 3, 2, 2), "train"),
    "flatten_middle": (lambda: nn.Flatten(1, 2), lambda: randn(2, 3, 4, 2), "train"),
    "unflatten": (lambda: nn.Unflatten(1, (2, 3)), lambda: randn(4, 6, 2), "train"),
    "relu": (lambda: nn.ReLU(), lambda: randn(3, 7), "train"),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda: randn(3, 7), "train"),
    "elu": (lambda: nn.ELU(alpha=0.7), lambda: randn(3, 7), "train"),
    "tanh": (lambda: nn.Tanh(), lambda: randn(3, 7), "train"),
    "sigmoid": (lambda: nn.Sigmoid(), lambda: randn(3, 7, scale=3.0), "train"),
    "softplus": (lambda: nn.Softplus(beta=1.0, threshold=20.0), lambda: randn(3, 7, scale=3.0), "train"),
    "softplus_beta": (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: randn(3, 7, scale=3.0), "train"),
    "gelu": (lambda: nn.GELU(), lambda: randn(3, 7, scale=2.0), "train"),
    "identity": (lambda: nn.Identity(), lambda: randn(3, 7), "train"),
    # A small DCGAN discriminator, nested: names such as "2.0.weight", "2.1.running_mean".
    "sequential_discriminator": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Sequential(nn.Conv2d(4, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.2)),
            nn.Flatten(), nn.Linear(8 * 2 * 2, 1)),
        lambda: randn(2, 1, 8, 8), "train"),
    # A small DCGAN generator.
    "sequential_generator": (
        lambda: nn.Sequential(
            nn.Linear(6, 8 * 2 * 2), nn.Unflatten(1, (8, 2, 2)), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 4, 4, 2, 1), nn.Tanh()),
        lambda: randn(2, 6), "train"),
    # A small PixelCNN in eval mode.
    "sequential_pixelcnn": (
        lambda: nn.Sequential(
            MaskedConv2d("A", 1, 4, 5, 2, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
            MaskedConv2d("B", 4, 4, 3, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
            nn.Conv2d(4, 5, 1)),
        lambda: torch.rand(2, 1, 4, 4), "eval"),
}


def make(name, build, make_input, mode):
    torch.manual_seed(zlib.crc32(name.encode()))
    module = build()
    randomize_norm_state(module)
    x = make_input()
    state = {k: v.clone() for k, v in module.state_dict().items()}

    ref = copy.deepcopy(module).double().train(mode == "train")
    x_ref = x.double().requires_grad_() if x.is_floating_point() else x
    out = ref(x_ref)
    proj = torch.randn(out.shape)
    loss = (out * proj.double()).sum()
    loss.backward()

    tensors = {"input": x, "proj": proj}
    tensors.update({f"state.{k}": v for k, v in state.items()})
    metadata = {"repr": repr(module), "mode": mode}
    if name == "dropout_train":
        metadata["check"] = "dropout"
        metadata["p"] = repr(module.p)
    else:
        tensors["output"] = out
        tensors["loss"] = loss
        if x.is_floating_point():
            tensors["grad.input"] = x_ref.grad
        tensors.update({f"grad.{k}": p.grad for k, p in ref.named_parameters()})
        tensors.update({f"after.{k}": b for k, b in ref.named_buffers()})
    return write_fixture(f"nn_{name}", tensors, metadata)


if __name__ == "__main__":
    regenerate("nn", CASES, lambda name, case: make(name, *case))
