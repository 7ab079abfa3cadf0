#!/usr/bin/python3
"""Small PNG and JPEG files and what Pillow decodes them to, for tests/test_image_decode.cpp.

Writes into tests/reference/fixtures/images/:
  jpeg_{baseline,progressive,grey}.jpg + *_pillow.npy   Pillow's (libjpeg's) pixels
  jpeg_cmyk.jpg                                          refused by the decoder
  rgba.png, palette_trns.png + *_over_white_{rgb,l}.npy  Pillow: paste onto white with the
                                                         alpha as mask, then convert("L")
  grey16.png, rgba16.png + *_expected.npy                16-bit PNGs (written by hand: Pillow
                                                         cannot write 16-bit RGBA) and the
                                                         documented rounding round(v*255/65535)
  animated.png                                           an APNG of two frames
Needs python3-pil and python3-numpy (Debian): /usr/bin/python3 tests/reference/make_decode_fixtures.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "images")


def path(name):
    return os.path.join(OUT, name)


def smooth_rgb(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 255 // (w - 1)), (y * 255 // (h - 1)), ((x + y) * 7) % 256], axis=-1).astype(np.uint8)


def over_white(rgba):
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
    return white


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png16(name, pixels, colour_type):
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1).astype(">u2").tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[i * stride:(i + 1) * stride] for i in range(h))
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
    with open(path(name), "wb") as f:
        f.write(data)


def to8(v):
    return ((v.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(smooth_rgb(20, 24))
    rgb.save(path("jpeg_baseline.jpg"), quality=90)
    rgb.save(path("jpeg_progressive.jpg"), quality=90, progressive=True)
    rgb.convert("L").save(path("jpeg_grey.jpg"), quality=90)
    for name in ("baseline", "progressive", "grey"):
        np.save(path(f"jpeg_{name}_pillow.npy"), np.asarray(Image.open(path(f"jpeg_{name}.jpg"))))
    rgb.convert("CMYK").save(path("jpeg_cmyk.jpg"), quality=90)

    rgba = np.concatenate([smooth_rgb(12, 16), rng.integers(0, 256, (12, 16, 1), dtype=np.uint8)], axis=-1)
    rgba[0, :, 3] = 0
    rgba[1, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path("rgba.png"))
    palette = rgb.resize((16, 12)).quantize(8)
    palette.save(path("palette_trns.png"), transparency=3)
    for name in ("rgba", "palette_trns"):
        composite = over_white(Image.open(path(f"{name}.png")).convert("RGBA"))
        np.save(path(f"{name}_over_white_rgb.npy"), np.asarray(composite))
        np.save(path(f"{name}_over_white_l.npy"), np.asarray(composite.convert("L")))

    grey16 = rng.integers(0, 65536, (6, 5), dtype=np.uint16)
    grey16[0, :5] = [0, 128, 129, 65407, 65535]
    write_png16("grey16.png", grey16, 0)
    np.save(path("grey16_expected.npy"), to8(grey16))
    rgba16 = rng.integers(0, 65536, (4, 7, 4), dtype=np.uint16)
    write_png16("rgba16.png", rgba16, 6)
    c8, a8 = to8(rgba16[..., :3]).astype(np.uint32), to8(rgba16[..., 3:]).astype(np.uint32)
    np.save(path("rgba16_expected.npy"), ((c8 * a8 + 255 * (255 - a8) + 127) // 255).astype(np.uint8))

    frames = [Image.fromarray(smooth_rgb(8, 8)), Image.fromarray(255 - smooth_rgb(8, 8))]
    frames[0].save(path("animated.png"), save_all=True, append_images=frames[1:], duration=100)


if __name__ == "__main__":
    main()
