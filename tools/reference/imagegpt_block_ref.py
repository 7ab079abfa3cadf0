#!/usr/bin/env python3
"""One ImageGPT pre-LN block (models/imagegpt/imagegpt_net.h) in PyTorch, on fixed weights:
the numbers tests/test_imagegpt.cpp checks minigen's block against.

Block: x + proj(causal MHA(LN1(x))), then + fc2(GELU(fc1(LN2(x)))), exact GELU, LayerNorm eps 1e-5,
q, k, v the thirds of one Linear(d, 3d) (in that order), heads of d / H, scale 1/sqrt(d / H).
Parameter k of the block (named_parameters order) holds 0.3 sin(1.3 j + 0.7 k) at flat index j;
the input x [1, T, d] holds cos(0.37 j).

Run: /usr/bin/python3 tools/reference/imagegpt_block_ref.py   (prints the output, flat, float64)
"""
import math

import torch

D, HEADS, T = 8, 2, 5


def fixed(shape, k):
    n = math.prod(shape)
    j = torch.arange(n, dtype=torch.float64)
    return (0.3 * torch.sin(1.3 * j + 0.7 * k)).reshape(shape)


def main():
    shapes = [(D,), (D,), (3 * D, D), (3 * D,), (D, D), (D,), (D,), (D,), (4 * D, D), (4 * D,), (D, 4 * D), (D,)]
    ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b = [
        fixed(s, k) for k, s in enumerate(shapes)]
    x = torch.cos(0.37 * torch.arange(T * D, dtype=torch.float64)).reshape(1, T, D)
    F = torch.nn.functional

    h = F.layer_norm(x, (D,), ln1_w, ln1_b, 1e-5)
    q, k, v = F.linear(h, qkv_w, qkv_b).split(D, dim=-1)
    heads = lambda t: t.reshape(1, T, HEADS, D // HEADS).transpose(1, 2)
    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D // HEADS)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    att = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) @ v
    x = x + F.linear(att.transpose(1, 2).reshape(1, T, D), proj_w, proj_b)
    x = x + F.linear(F.gelu(F.linear(F.layer_norm(x, (D,), ln2_w, ln2_b, 1e-5), fc1_w, fc1_b)), fc2_w, fc2_b)
    print(", ".join(f"{v:.12g}" for v in x.flatten().tolist()))


if __name__ == "__main__":
    main()
