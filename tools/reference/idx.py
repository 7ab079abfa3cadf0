"""Reading Fashion-MNIST's IDX files (gzip), shared by the PyTorch reference scripts."""

import gzip
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
