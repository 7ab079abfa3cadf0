#!/usr/bin/python3
"""The SSIM and PSNR numbers tests/test_pix2pix.cpp checks models/metrics.cpp against.

SSIM as Wang et al. (2004): Gaussian-weighted moments (sigma 1.5, scipy's filter truncated at
3.5 sigma: 11 taps), C1 = (0.01 L)^2, C2 = (0.03 L)^2, the map's mean over the valid window
positions (the 5-pixel border, where the filter reaches outside, left out), channels averaged.
Run: /usr/bin/python3 tools/reference/ssim_ref.py
"""
import numpy as np
from scipy.ndimage import gaussian_filter


def ssim_plane(x, y, data_range=1.0):
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5, mode="reflect")
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s[5:-5, 5:-5].mean()


def pair():
    """Two 2-channel 16x20 images in [0, 1], the same formulas as the C++ test."""
    i, j = np.meshgrid(np.arange(16), np.arange(20), indexing="ij")
    a = np.stack([(np.sin(0.3 * i + 0.2 * j) + 1) / 2, ((i * 7 + j * 3) % 11) / 10.0])
    b = np.stack([(np.sin(0.3 * i + 0.25 * j + 0.4) + 1) / 2, ((i * 5 + j * 3) % 11) / 10.0 * 0.8 + 0.1])
    return a, b


if __name__ == "__main__":
    a, b = pair()
    for name, y in (("a vs b", b), ("a vs 0.9 a + 0.05", 0.9 * a + 0.05)):
        ssim = np.mean([ssim_plane(a[c], y[c]) for c in range(a.shape[0])])
        psnr = 10 * np.log10(1.0 / np.mean((a - y) ** 2))
        print(f"{name}: ssim {ssim!r} psnr {psnr!r}")
