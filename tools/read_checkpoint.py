#!/usr/bin/env python3
"""Reads a minigen checkpoint (a safetensors file) into numpy arrays.

Standard library and numpy only. The file format is in docs/checkpoints.md.

On the command line:
    python3 tools/read_checkpoint.py ckpt.safetensors          # one line per tensor, and the metadata
    python3 tools/read_checkpoint.py --json ckpt.safetensors   # everything, values included, as JSON

From Python (PyTorch users: torch.from_numpy turns each array into a tensor):
    import sys; sys.path.insert(0, "tools")
    from read_checkpoint import load_checkpoint
    ckpt = load_checkpoint("ckpt.safetensors")
    model.load_state_dict({k: torch.from_numpy(v) for k, v in ckpt["model"].items()})
    ckpt["step"], ckpt["rng_seed"], ckpt["rng_offset"], ckpt["metadata"]["config"]

Any safetensors file of F32/F64/I64/U8 tensors can be read with read_safetensors().
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U8": np.dtype("u1")}
MAX_HEADER_BYTES = 100 << 20
SECTIONS = {"model.": "model", "optim.": "optimizer", "extra.": "extra"}


class CheckpointError(Exception):
    pass


def read_safetensors(path):
    """Returns ({name: np.ndarray}, {key: str}); raises CheckpointError on a malformed file."""
    def fail(message):
        raise CheckpointError(f"{path}: {message}")

    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size < 8:
            fail(f"file is {size} bytes, too short to hold the 8-byte header length")
        (header_len,) = struct.unpack("<Q", f.read(8))
        if header_len > size - 8 or header_len > MAX_HEADER_BYTES:
            fail(f"header length {header_len} does not fit the file ({size} bytes)")
        try:
            header = json.loads(f.read(header_len).decode("utf-8"),
                                object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"header is not valid JSON: {e}")
        if not isinstance(header, dict):
            fail("header is not a JSON object")
        data_start = 8 + header_len
        data_size = size - data_start
        metadata = header.pop("__metadata__", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            fail("__metadata__ must map strings to strings")

        spans = []
        for name, info in header.items():
            if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
                fail(f"tensor '{name}': expected dtype, shape and data_offsets")
            if info["dtype"] not in DTYPES:
                fail(f"tensor '{name}': unsupported dtype {info['dtype']!r}")
            shape, offsets = info["shape"], info["data_offsets"]
            if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
                fail(f"tensor '{name}': bad shape {shape!r}")
            if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                    or not 0 <= offsets[0] <= offsets[1] <= data_size):
                fail(f"tensor '{name}': data_offsets {offsets!r} outside the {data_size}-byte data section")
            need = DTYPES[info["dtype"]].itemsize * int(np.prod(shape, dtype=object))
            if offsets[1] - offsets[0] != need:
                fail(f"tensor '{name}': data_offsets span {offsets[1] - offsets[0]} bytes, shape needs {need}")
            spans.append((offsets[0], offsets[1], name))
        covered = 0
        for begin, end, name in sorted(spans):
            if begin != covered:
                fail(f"tensor '{name}' starts at data byte {begin}, expected {covered} (overlap or gap)")
            covered = end
        if covered != data_size:
            fail(f"tensors cover {covered} of the {data_size} data bytes")

        tensors = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            f.seek(data_start + begin)
            raw = f.read(end - begin)
            if len(raw) != end - begin:
                fail(f"tensor '{name}': file ends early")
            tensors[name] = np.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors, metadata


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in header")
    return dict(pairs)


def load_checkpoint(path):
    """Returns {"model", "optimizer", "extra": {name: array}, "step", "rng_seed", "rng_offset", "metadata"}."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("minigen.format") != "checkpoint":
        raise CheckpointError(f"{path}: not a minigen checkpoint (no minigen.format = checkpoint)")
    out = {"model": {}, "optimizer": {}, "extra": {}}
    for name, array in tensors.items():
        for prefix, section in SECTIONS.items():
            if name.startswith(prefix):
                out[section][name[len(prefix):]] = array
                break
        else:
            raise CheckpointError(f"{path}: tensor '{name}' is in no section")
    out["step"] = int(metadata["minigen.step"])
    out["rng_seed"] = int(metadata["minigen.rng_seed"])
    out["rng_offset"] = int(metadata["minigen.rng_offset"])
    out["metadata"] = {k: v for k, v in metadata.items() if not k.startswith("minigen.")}
    return out


def main(argv):
    as_json = "--json" in argv
    paths = [a for a in argv if a != "--json"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        ckpt = load_checkpoint(paths[0])
    except (CheckpointError, OSError) as e:
        print(f"read_checkpoint: {e}", file=sys.stderr)
        return 1
    if as_json:
        doc = {key: ckpt[key] for key in ("step", "rng_seed", "rng_offset", "metadata")}
        for section in SECTIONS.values():
            doc[section] = {name: {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.reshape(-1).tolist()}
                            for name, a in ckpt[section].items()}
        json.dump(doc, sys.stdout)
        print()
        return 0
    print(f"step {ckpt['step']}, rng seed {ckpt['rng_seed']} offset {ckpt['rng_offset']}")
    for key, value in ckpt["metadata"].items():
        print(f"metadata {key}: {value}")
    for section in SECTIONS.values():
        for name, a in ckpt[section].items():
            print(f"{section} {name}: {a.dtype} {list(a.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
