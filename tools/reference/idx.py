"""Reading Fashion-MNIST's IDX files (gzip), shared by the PyTorch reference scripts, with
the options and thread settings of those that train (this module does not import torch)."""

import argparse
import gzip
import os
import pathlib
import struct

import numpy as np


def read_idx(path):
    """An unsigned-byte IDX file (gzip-compressed) -> numpy uint8 array of its shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype_code == 0x08, f"{path}: not an unsigned-byte IDX file"
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_split(data_dir, split, kind="images"):
    """Fashion-MNIST's "train" or "test" images [N, 28, 28] (or labels [N]) as uint8."""
    prefix = "train" if split == "train" else "t10k"
    name = "images-idx3-ubyte.gz" if kind == "images" else "labels-idx1-ubyte.gz"
    return read_idx(pathlib.Path(data_dir) / f"{prefix}-{name}")


def training_arg_parser(description, batch_size, lr):
    """The options every training script takes: --data, --batch-size, --lr, --seed, --threads, --json."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST directory")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--json", help="also write the results to this JSON file")
    return p


def set_thread_env(threads):
    """Before torch loads: its OpenMP pool and the system BLAS read these."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
