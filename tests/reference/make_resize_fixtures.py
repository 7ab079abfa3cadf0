#!/usr/bin/python3
"""Pillow's Image.resize on small random images, for tests/test_image_resize.cpp.

Writes tests/reference/fixtures/images/resize_{grey,rgb}_src.npy (uint8 [30, 40] and
[30, 40, 3]) and resize_{grey,rgb}_{filter}_{h}x{w}.npy, each Pillow's resize of the source
to w x h. The sources mix smooth gradients, hard edges and noise, so every filter clips,
rings and averages somewhere. Needs python3-pil and python3-numpy (Debian):
    /usr/bin/python3 tests/reference/make_resize_fixtures.py
"""
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "images")
FILTERS = {"nearest": Image.NEAREST, "box": Image.BOX, "bilinear": Image.BILINEAR,
           "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}
# (height, width): down both, up H / down W, up both, mildly down, width only
TARGETS = [(9, 12), (40, 17), (48, 64), (27, 33), (30, 23)]


def source(rng, channels):
    h, w = 30, 40
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        smooth = 127 + 120 * np.sin(x / (5.0 + c) + y / 7.0)
        edges = np.where((x // 6 + y // 5 + c) % 2 == 0, 255.0, 0.0)
        noise = rng.integers(0, 256, (h, w))
        mix = np.where(x < 14, smooth, np.where(x < 27, edges, noise))
        planes.append(np.clip(mix, 0, 255).astype(np.uint8))
    return planes[0] if channels == 1 else np.stack(planes, axis=-1)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    print("Pillow", Image.__version__)
    for name, channels in (("grey", 1), ("rgb", 3)):
        src = source(rng, channels)
        np.save(os.path.join(OUT, f"resize_{name}_src.npy"), src)
        image = Image.fromarray(src)
        for fname, f in FILTERS.items():
            for h, w in TARGETS:
                out = np.asarray(image.resize((w, h), resample=f))
                np.save(os.path.join(OUT, f"resize_{name}_{fname}_{h}x{w}.npy"), out)


if __name__ == "__main__":
    main()
