#!/usr/bin/python3
"""References for tests/test_image_augment.cpp: Pillow/torchvision colour jitter, Pillow's
MedianFilter and UnsharpMask, and DiffAugment (Zhao et al. 2020): the reference code's
PyTorch functions ported line by line to numpy (the same meshgrid, clamp, pad and
advanced indexing; numpy's semantics for them are PyTorch's), with the random draws given.

Writes tests/reference/fixtures/images/augment_*.npy and diffaug_*.npy. Needs Pillow and
numpy (python3-pil, python3-numpy); adjust_hue is torchvision's PIL code, copied:
    /usr/bin/python3 tests/reference/make_augment_fixtures.py
"""
import os

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "images")


def source(rng, channels, h=18, w=22):
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        smooth = 127 + 120 * np.sin(x / (3.0 + c) + y / 5.0)
        noise = rng.integers(0, 256, (h, w))
        planes.append(np.clip(np.where(x < 11, smooth, noise), 0, 255).astype(np.uint8))
    return planes[0] if channels == 1 else np.stack(planes, axis=-1)


def adjust_hue(img, hue):  # torchvision.transforms.functional_pil.adjust_hue
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.array(hue * 255).astype(np.int64).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(img.mode)


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


def diffaug(x, b, s, k, ty, tx, cy, cx):
    """DiffAugment's rand_brightness, rand_saturation, rand_contrast, rand_translation, rand_cutout
    (github.com/mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py) with the draws given."""
    n = x.shape[0]
    x = x + b.reshape(n, 1, 1, 1)
    m = x.mean(axis=1, keepdims=True)
    x = (x - m) * s.reshape(n, 1, 1, 1) + m
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - m) * k.reshape(n, 1, 1, 1) + m
    gb, gx, gy = np.meshgrid(np.arange(n), np.arange(x.shape[2]), np.arange(x.shape[3]), indexing="ij")
    gx = np.clip(gx + ty.reshape(n, 1, 1) + 1, 0, x.shape[2] + 1)
    gy = np.clip(gy + tx.reshape(n, 1, 1) + 1, 0, x.shape[3] + 1)
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    x = np.ascontiguousarray(x_pad.transpose(0, 2, 3, 1))[gb, gx, gy].transpose(0, 3, 1, 2)
    size = int(x.shape[2] * 0.5 + 0.5), int(x.shape[3] * 0.5 + 0.5)
    gb, gx, gy = np.meshgrid(np.arange(n), np.arange(size[0]), np.arange(size[1]), indexing="ij")
    gx = np.clip(gx + cy.reshape(n, 1, 1) - size[0] // 2, 0, x.shape[2] - 1)
    gy = np.clip(gy + cx.reshape(n, 1, 1) - size[1] // 2, 0, x.shape[3] - 1)
    mask = np.ones((n, x.shape[2], x.shape[3]))
    mask[gb, gx, gy] = 0
    return x * mask[:, None]


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261207)
    print("Pillow", Image.__version__, "numpy", np.__version__)
    for name, channels in (("grey", 1), ("rgb", 3)):
        src = source(rng, channels)
        save(f"augment_{name}_src.npy", src)
        img = Image.fromarray(src)
        for f in (0.6, 1.7):
            save(f"augment_{name}_brightness_{f}.npy", np.array(ImageEnhance.Brightness(img).enhance(f)))
        for f in (0.5, 1.8):
            save(f"augment_{name}_contrast_{f}.npy", np.array(ImageEnhance.Contrast(img).enhance(f)))
        for size in (3, 5):
            save(f"augment_{name}_median_{size}.npy", np.array(img.filter(ImageFilter.MedianFilter(size))))
        for radius, percent, threshold in ((2, 150, 3), (1.5, 80, 0)):
            out = img.filter(ImageFilter.UnsharpMask(radius, percent, threshold))
            save(f"augment_{name}_unsharp_{radius}_{percent}_{threshold}.npy", np.array(out))
        if channels == 3:
            for f in (0.3, 1.9):
                save(f"augment_rgb_saturation_{f}.npy", np.array(ImageEnhance.Color(img).enhance(f)))
            for hue in (-0.3, 0.12, 0.5):
                save(f"augment_rgb_hue_{hue}.npy", np.array(adjust_hue(img, hue)))

    # DiffAugment: x [5, 3, 10, 12] float64 and per-sample draws in the reference's ranges.
    n, h, w = 5, 10, 12
    x = rng.uniform(-1, 1, (n, 3, h, w))
    b, s, k = rng.uniform(-0.5, 0.5, n), rng.uniform(0, 2, n), rng.uniform(0.5, 1.5, n)
    sh, sw = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    ty = np.array([-sh, sh, 0, 1, -1])
    tx = np.array([sw, -sw, 1, 0, -1])
    cy = np.array([0, h, 3, 9, 5])
    cx = np.array([w, 0, 6, 2, 11])
    y = diffaug(x, b, s, k, ty, tx, cy, cx)
    save("diffaug_x.npy", x)
    save("diffaug_color.npy", np.stack([b, s, k]))
    save("diffaug_shift_cut.npy", np.stack([ty, tx, cy, cx]).astype(np.int64))
    save("diffaug_y.npy", y)


if __name__ == "__main__":
    main()
