"""Reference values for minigen's rgb_to_lab / lab_to_rgb (core/ops/color.h).

skimage.color.rgb2lab's formulas written out in NumPy (sRGB gamma, xyz_from_rgb, D65 white of
the 2-degree observer, the piecewise f), independent of minigen; tests/test_color.cpp embeds
what this prints.  Run: /usr/bin/python3 tools/reference/lab_ref.py
"""
import numpy as np

XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
WHITE = np.array([0.95047, 1.0, 1.08883])


def rgb2lab(rgb):
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = lin @ XYZ_FROM_RGB.T / WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


if __name__ == "__main__":
    colours = [[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [0.5, 0.5, 0.5],
               [0.02, 0.01, 0.03], [0.9, 0.6, 0.2], [0.1, 0.4, 0.7]]
    for c, lab in zip(colours, rgb2lab(colours)):
        print("{{%s}, {%.9f, %.9f, %.9f}}," % (", ".join(repr(float(v)) for v in c), *lab))
