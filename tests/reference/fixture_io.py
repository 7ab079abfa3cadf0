"""What the fixture writers of tests/reference share: the safetensors writer, the loop that
regenerates one family of fixtures, and the models shared with the PyTorch reference scripts
(tools/reference/common.py, put on the import path here).

The files are written with the standard library and numpy: an 8-byte little-endian header
length, a JSON header (dtype "F32"/"F64"/"I64", shape, data_offsets), the data.
"""
import json
import pathlib
import struct
import sys

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "fixtures"
DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools" / "reference"))


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().numpy()  # (np.ascontiguousarray would make 0-d arrays 1-d)
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors does
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_fixture(name, tensors, metadata):
    """Writes OUT/<name>.safetensors and returns its path."""
    path = OUT / f"{name}.safetensors"
    write_safetensors(path, tensors, metadata)
    return path


def regenerate(prefix, cases, make_one):
    """Replaces every OUT/<prefix>_*.safetensors with the files make_one(name, case) writes
    (a case dropped from `cases` leaves no stale file behind), printing each one's size."""
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob(f"{prefix}_*.safetensors"):
        old.unlink()
    for name, case in cases.items():
        path = make_one(name, case)
        print(f"{path.name:45s} {path.stat().st_size:8d} bytes")
