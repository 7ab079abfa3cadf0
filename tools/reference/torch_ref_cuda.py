#!/usr/bin/env python3
"""Runs tools/reference/torch_ref.py on the GPU: the PyTorch side of `minigen bench --device cuda`.

torch_ref.py builds every model, batch and kernel operand with PyTorch's factory functions
and modules, so making CUDA the default device puts all of it on the GPU unchanged. GPU
work is asynchronous: every timed call is followed by torch.cuda.synchronize(), as minigen
synchronises after each step. PyTorch eager in its usual GPU configuration: cuDNN picks its
fastest algorithm per shape (benchmark mode). TF32 is off for matmuls (PyTorch's default)
and, unlike PyTorch's default, off for convolutions too, so both sides compute in FP32;
--tf32 turns it on for both.

Usage:
  python3 tools/reference/torch_ref_cuda.py tools/reference/torch_ref.py [--tf32] [torch_ref.py args]
  e.g. ... torch_ref.py --workload models --json -
"""
import importlib.util
import sys

import torch


def main():
    if len(sys.argv) < 2 or not sys.argv[1].endswith(".py"):
        sys.exit(__doc__)
    path, rest = sys.argv[1], sys.argv[2:]
    tf32 = "--tf32" in rest
    rest = [a for a in rest if a != "--tf32"]
    if not torch.cuda.is_available():
        sys.exit("torch_ref_cuda.py: torch sees no CUDA device")
    torch.set_default_device("cuda")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32

    sys.argv = [path] + rest  # torch_ref.py reads its arguments when imported
    spec = importlib.util.spec_from_file_location("torch_ref", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    untimed = ref.time_fn

    def synchronised(fn, *args, **kwargs):
        def call():
            fn()
            torch.cuda.synchronize()
        return untimed(call, *args, **kwargs)

    ref.time_fn = synchronised
    print(f"torch_ref_cuda: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"cudnn {torch.backends.cudnn.version()}, tf32 {'on' if tf32 else 'off'}", file=sys.stderr)
    ref.main()


if __name__ == "__main__":
    main()
